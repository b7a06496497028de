"""Tables of the EVM rail: indexed payment logs, the block hashes that detect reorgs, the indexer cursor, and the
treasury's outgoing transactions (exactly-once sending).

Natural key of a log: (chain_id, tx_hash, log_index). A log's ``block_hash`` is kept so that a reorg is seen and
rolled back; confirmations are counted from the cursor (the newest block the indexer verified), never from an
unverified head. Addresses and hashes are lower-case ``0x`` hex.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money

HASH = 66  # 0x + 32 bytes
ADDR = 42  # 0x + 20 bytes
U256 = 78  # decimal digits of 2**256-1

#: Values of ``EvmPaymentLog.kind``.
PAID = "paid"  # a PaymentRouter Paid(invoiceId, payer, amount) log
TRANSFER_IN = "transfer_in"  # a token Transfer into the treasury
TRANSFER_OUT = "transfer_out"  # a token Transfer out of the treasury (refunds, payouts)

#: Values of ``EvmOutboundTx.status``.
OUT_SIGNED = "signed"  # recorded, maybe sent: look the hash up before anything else
OUT_MINED = "mined"  # a receipt with status 1
OUT_REVERTED = "reverted"  # a receipt with status 0 (the nonce is used; a new key must be sent afresh)


class EvmPaymentLog(Base):
    """A decoded log of the router or the token, as of the block it was read in."""

    __tablename__ = "evm_payment_logs"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(HASH), primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(HASH))
    tx_index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    contract: Mapped[str] = mapped_column(String(ADDR))  # the router (paid) or the token (transfers)
    invoice_id: Mapped[str | None] = mapped_column(String(HASH), nullable=True)  # bytes32 hex (paid only)
    payer: Mapped[str] = mapped_column(String(ADDR))  # Paid.payer / Transfer.from
    recipient: Mapped[str] = mapped_column(String(ADDR))  # the treasury (paid, transfer_in) / Transfer.to
    amount: Mapped[int | None] = mapped_column(Money, nullable=True)  # NULL only when above the column's range
    amount_raw: Mapped[str] = mapped_column(String(U256))  # exact decimal text of the uint256
    # A Transfer into the treasury in a transaction that also emitted the router's Paid: the Paid credits it.
    via_router: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_evm_payment_logs_invoice", "chain_id", "contract", "invoice_id"),
        Index("ix_evm_payment_logs_block", "chain_id", "block_number"),
    )


class EvmBlock(Base):
    """A block the indexer read (one with logs, or the end of a range) and its hash, per watch."""

    __tablename__ = "evm_blocks"

    watch: Mapped[str] = mapped_column(String(160), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(HASH))
    has_logs: Mapped[bool] = mapped_column(Boolean, default=False)


class EvmCursor(Base):
    """How far a watch (chain, router, token, treasury) is read: every block up to ``last_block`` is in."""

    __tablename__ = "evm_cursors"

    watch: Mapped[str] = mapped_column(String(160), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    start_block: Mapped[int] = mapped_column(BigInteger)
    last_block: Mapped[int] = mapped_column(BigInteger)  # start_block - 1 before the first range
    last_hash: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    log_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reorgs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EvmOutboundTx(Base):
    """One transaction the backend must send exactly once, keyed by its idempotency key (e.g. ``refund:42``)."""

    __tablename__ = "evm_outbound_txs"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(ADDR))
    nonce: Mapped[int] = mapped_column(BigInteger)
    to: Mapped[str] = mapped_column(String(ADDR))
    data: Mapped[str] = mapped_column(Text)
    gas: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str] = mapped_column(String(HASH))  # the newest attempt
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("chain_id", "sender", "nonce", name="uq_evm_outbound_txs_nonce"),)


class EvmTxAttempt(Base):
    """A signed version of an outbound transaction (the first, or a same-nonce replacement with higher fees)."""

    __tablename__ = "evm_tx_attempts"

    tx_hash: Mapped[str] = mapped_column(String(HASH), primary_key=True)
    key: Mapped[str] = mapped_column(ForeignKey("evm_outbound_txs.key"), index=True)
    raw: Mapped[str] = mapped_column(Text)
    max_fee_per_gas: Mapped[str] = mapped_column(String(U256))
    max_priority_fee_per_gas: Mapped[str] = mapped_column(String(U256))
    created_at: Mapped[int] = mapped_column(BigInteger)
