"""Settlement: jobs and their usage charges, and what the treasury sends (payouts, refunds, burns) with the
transactions that carry them, each recorded before it is sent."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import KEY, SIG

#: Job statuses.
RUNNING, COMPLETED, CANCELLED, BUDGET_SPENT = "running", "completed", "cancelled", "budget_spent"
#: Statuses of a treasury transfer or burn: recorded, in a sent transaction, booked at finalized, or failed (voided).
PLANNED, SENT, FINALIZED, FAILED = "planned", "sent", "finalized", "failed"
#: Statuses of a treasury transaction.
TX_SIGNED, TX_SENT, TX_LANDED, TX_FINALIZED, TX_FAILED, TX_EXPIRED = (
    "signed",
    "sent",
    "landed",
    "finalized",
    "failed",
    "expired",
)
OPEN_TX_STATUSES = (TX_SIGNED, TX_SENT, TX_LANDED)


class Job(Base):
    """A rental: a buyer's budget reserved at start and charged by the node's usage records."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_buyer", "buyer"), Index("ix_jobs_status", "status"))

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the orchestrator's job id (usage_records)
    buyer: Mapped[str] = mapped_column(String(KEY))
    node: Mapped[str] = mapped_column(String(KEY))  # the node's device key, as in usage records
    operator: Mapped[str] = mapped_column(String(KEY))  # who earns (from the node registry at start)
    currency: Mapped[str] = mapped_column(String(8))
    price_per_gpu_hour: Mapped[int] = mapped_column(Money)
    gpu_units: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(Money)
    buyer_fee_bps: Mapped[int] = mapped_column(Integer)
    provider_fee_bps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class UsageCharge(Base):
    """The charge of one usage record (exactly one per record), with the job's running totals after it.

    Totals make the split exact without a stored remainder: the compute charged so far is always
    ``price * metered_seconds // 3600`` and each fee ``compute * bps // 10000``, so each charge is the difference of
    two totals and the sub-unit remainder carries to the next charge by construction.
    """

    __tablename__ = "usage_charges"
    __table_args__ = (Index("ix_usage_charges_job_seq", "job_id", "seq", unique=True),)

    job_id: Mapped[str] = mapped_column(String(128), ForeignKey("jobs.id"), primary_key=True)
    period_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    gpu_seconds: Mapped[int] = mapped_column(BigInteger)  # as recorded
    billed_seconds: Mapped[int] = mapped_column(BigInteger)  # what was charged for (0 when refused)
    compute: Mapped[int] = mapped_column(Money)
    buyer_fee: Mapped[int] = mapped_column(Money)
    provider_fee: Mapped[int] = mapped_column(Money)
    total_seconds: Mapped[int] = mapped_column(BigInteger)
    total_compute: Mapped[int] = mapped_column(Money)
    total_buyer_fee: Mapped[int] = mapped_column(Money)
    total_provider_fee: Mapped[int] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    charged_at: Mapped[int] = mapped_column(BigInteger)


class SettlementTx(Base):
    """A transaction the treasury signs: recorded (signature, blockhash, last valid block height, bytes) before it
    is sent. A new attempt after expiry is a new row; the items move to it only when nothing naming them landed."""

    __tablename__ = "settlement_txs"
    __table_args__ = (Index("ix_settlement_txs_status", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # transfers | burn
    status: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(SIG), unique=True)
    blockhash: Mapped[str] = mapped_column(String(64))
    last_valid_block_height: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[str] = mapped_column(Text)  # base64 of the signed transaction
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class SettlementTransfer(Base):
    """A payout or a refund: an SPL transfer from the treasury naming a fresh reference key."""

    __tablename__ = "settlement_transfers"
    __table_args__ = (
        Index("ix_settlement_transfers_status", "status"),
        Index("ix_settlement_transfers_owner", "owner"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # payout | refund
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    owner: Mapped[str] = mapped_column(String(KEY))  # the wallet paid
    account: Mapped[str] = mapped_column(String(128))  # the ledger account it was taken from
    currency: Mapped[str] = mapped_column(String(8))
    mint: Mapped[str] = mapped_column(String(KEY))
    amount: Mapped[int] = mapped_column(Money)
    destination: Mapped[str] = mapped_column(String(KEY))  # the owner's associated token account
    reference: Mapped[str] = mapped_column(String(KEY), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # refunds: the request's body
    status: Mapped[str] = mapped_column(String(16))
    tx_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("settlement_txs.id"), nullable=True)
    signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)  # the one that landed
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Burn(Base):
    """An epoch's burn of IO fee income: ``burnChecked`` from the treasury's IO account, booked at finalized."""

    __tablename__ = "burns"

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(8))
    mint: Mapped[str] = mapped_column(String(KEY))
    amount: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))
    tx_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("settlement_txs.id"), nullable=True)
    signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
