"""Tables of the indexer: raw chain facts (transactions, transfers, references, events) and cursors.

The projections of the staking program's state built from these facts are in :mod:`backend.models.staking`.

Natural keys make every write idempotent: a transaction is its signature, a transfer is
(signature, instruction path), an event is (signature, instruction path, event index). ``status`` is
``confirmed`` (pending: shown, never counted) or ``finalized`` (money state and projections).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money

SIG = 96
KEY = 48
PATH = 16

#: Values of ``status``.
CONFIRMED = "confirmed"
FINALIZED = "finalized"


class IndexedTransaction(Base):
    """One transaction that touched a watched address."""

    __tablename__ = "indexed_transactions"

    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    err: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Set when the RPC answer could not be decoded: the transaction is kept (never skipped past) with its raw
    # response, so nothing is lost silently and it can be decoded again once the decoder handles it.
    decode_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)


class TokenTransfer(Base):
    """An SPL token transfer/transferChecked, or a mintTo/burn (checked or not), top-level or inner, into or out
    of a watched token account."""

    __tablename__ = "token_transfers"
    # The settlement pass reads only transfers above the slot it had covered (migration 0011).
    __table_args__ = (Index("ix_token_transfers_slot", "slot"),)

    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    ix_path: Mapped[str] = mapped_column(String(PATH), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str] = mapped_column(String(24))
    mint: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    is_io: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[int | None] = mapped_column(Money, nullable=True)
    # Exact decimal text of the u64 amount; ``amount`` is NULL only on SQLite for amounts above 2**63-1
    # (possible for a failed or foreign-mint transfer, never for a counted IO transfer).
    amount_raw: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(KEY), index=True)
    destination: Mapped[str] = mapped_column(String(KEY), index=True)
    source_owner: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    destination_owner: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    authority: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))


class TransferReference(Base):
    """A Solana Pay reference key named by a transfer instruction."""

    __tablename__ = "transfer_references"

    reference: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    ix_path: Mapped[str] = mapped_column(String(PATH), primary_key=True)


class ProgramEvent(Base):
    """An event of the staking program (decoded by the IDL) or, when unknown/malformed, its raw bytes."""

    __tablename__ = "program_events"

    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    ix_path: Mapped[str] = mapped_column(String(PATH), primary_key=True)
    event_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    program_id: Mapped[str] = mapped_column(String(KEY))
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(KEY), nullable=True, index=True)
    owner: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    fields: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    # Set once the projections reflect this (finalized) event, in the same transaction: each event is applied to
    # them exactly once, whatever batches it arrives in (indexer/projections.py).
    projected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_program_events_name_slot", "name", "slot"),
        Index("ix_program_events_projection", "projected", "status"),
    )


class IndexerCursor(Base):
    """Newest finalized signature of an address whose history up to it is fully in the database."""

    __tablename__ = "indexer_cursors"

    address: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    last_signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)
    tx_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # The finalized slot read before the last complete pass: everything up to it is in. Lag = now - this.
    synced_slot: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
