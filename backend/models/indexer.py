"""Tables of the indexer: raw chain facts (transactions, transfers, references, events), cursors, projections.

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


class StakingNode(Base):
    """Projection: a node of the staking program, from finalized events.

    ``applied_*`` is the key (slot, signature, event index) of the last event applied: later events are applied
    on top of the row; an event that sorts before it (one slot's events split across two batches) makes the
    node replay from its first event."""

    __tablename__ = "staking_nodes"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    operator: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pending_commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commission_effective_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    total_stake: Mapped[int] = mapped_column(Money, default=0)
    total_shares: Mapped[int] = mapped_column(Money, default=0)
    unbonding_stake: Mapped[int] = mapped_column(Money, default=0)
    unbonding_shares: Mapped[int] = mapped_column(Money, default=0)
    slashed_total: Mapped[int] = mapped_column(Money, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    applied_signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    applied_event_index: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StakePosition(Base):
    """Projection: one owner's stake on one node: shares of the node's bonded and unbonding pools and their
    current value (``bonded``; ``unbonding``: every entry, matured or not), the earliest ``unlock_time`` of its
    unbonding entries (None without entries), and the total withdrawn. The entries: ``stake_unbonding_entries``."""

    __tablename__ = "stake_positions"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    owner: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    shares: Mapped[int] = mapped_column(Money, default=0)
    unbonding_shares: Mapped[int] = mapped_column(Money, default=0)
    bonded: Mapped[int] = mapped_column(Money, default=0)
    unbonding: Mapped[int] = mapped_column(Money, default=0)
    unlock_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    withdrawn: Mapped[int] = mapped_column(Money, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)


class StakeUnbondingEntry(Base):
    """Projection: one unbonding entry of a position (one ``request_unstake`` that added an entry), until the
    withdraw that pays it. Keyed by the request's event; ``value`` is what its shares of the node's unbonding pool
    are worth now (after any slash), rounded down; ``amount`` is what was requested."""

    __tablename__ = "stake_unbonding_entries"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    owner: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    event_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(Money, default=0)
    shares: Mapped[int] = mapped_column(Money, default=0)
    value: Mapped[int] = mapped_column(Money, default=0)
    unlock_time: Mapped[int] = mapped_column(BigInteger)


class DistributorRoot(Base):
    """Projection: a rewards merkle root posted for an epoch."""

    __tablename__ = "distributor_roots"

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amount: Mapped[int] = mapped_column(Money, default=0)
    signature: Mapped[str] = mapped_column(String(SIG))
    slot: Mapped[int] = mapped_column(BigInteger)


class RewardClaim(Base):
    """Projection: lifetime rewards claimed per wallet."""

    __tablename__ = "reward_claims"

    wallet: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    claimed_total: Mapped[int] = mapped_column(Money, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)
