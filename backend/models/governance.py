"""Governance of the grants DAO: proposals, their stake snapshot and every signed ballot (issue 14)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money

KEY = 48
SIG = 96

# SPL Governance's proposal states.
DRAFT, VOTING, SUCCEEDED, DEFEATED, CANCELLED, EXECUTING, COMPLETED = (
    "Draft",
    "Voting",
    "Succeeded",
    "Defeated",
    "Cancelled",
    "Executing",
    "Completed",
)
STATES = (DRAFT, VOTING, SUCCEEDED, DEFEATED, CANCELLED, EXECUTING, COMPLETED)
GRANT, SIGNAL = "grant", "signal"

# The outcome memo's own small state machine (recorded before sent, looked up before re-sent).
MEMO_SIGNED, MEMO_SENT, MEMO_LANDED = "signed", "sent", "landed"


class GovernanceProposal(Base):
    """A proposal: what is asked, the snapshot it is weighed at, its window, its outcome and its execution."""

    __tablename__ = "governance_proposals"
    __table_args__ = (Index("ix_governance_proposals_state", "state"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposer: Mapped[str] = mapped_column(String(KEY))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    options: Mapped[str] = mapped_column(Text)  # JSON list of choices
    grant_recipient: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    grant_amount: Mapped[int | None] = mapped_column(Money, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    # The rules in force at creation (a later settings change does not move a running vote).
    snapshot_slot: Mapped[int] = mapped_column(BigInteger)
    snapshot_total: Mapped[int] = mapped_column(Money)
    quorum_bps: Mapped[int] = mapped_column(Integer)
    threshold_bps: Mapped[int] = mapped_column(Integer)
    hold_up_seconds: Mapped[int] = mapped_column(BigInteger)
    voting_starts_at: Mapped[int] = mapped_column(BigInteger)
    voting_ends_at: Mapped[int] = mapped_column(BigInteger)
    # The outcome: the canonical JSON document the tally produced and its sha256 (hex).
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tallied_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The memo transaction naming proposal, outcome and hash, signed by the governance authority.
    memo_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    memo_signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    memo_raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    memo_last_valid_block_height: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    memo_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Execution of a grant: the settlement transfer that pays it.
    payout_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    execution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    executed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class GovernanceSnapshotEntry(Base):
    """A wallet's bonded stake at the proposal's snapshot slot; ``bonded_at_close`` and ``weight`` (the stake
    capped by the bonded stake at the close) are set for voters when the vote closes."""

    __tablename__ = "governance_snapshot"

    proposal_id: Mapped[str] = mapped_column(String(40), ForeignKey("governance_proposals.id"), primary_key=True)
    wallet: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    stake: Mapped[int] = mapped_column(Money)
    bonded_at_close: Mapped[int | None] = mapped_column(Money, nullable=True)
    weight: Mapped[int | None] = mapped_column(Money, nullable=True)


class GovernanceBallot(Base):
    """Every accepted signed ballot, in the order received (``seq``); a later one of a voter replaces the
    earlier in the tally, and all stay published."""

    __tablename__ = "governance_ballots"
    __table_args__ = (
        UniqueConstraint("proposal_id", "voter", "nonce", name="uq_governance_ballots_nonce"),
        Index("ix_governance_ballots_proposal", "proposal_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(String(40), ForeignKey("governance_proposals.id"))
    voter: Mapped[str] = mapped_column(String(KEY))
    choice: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(SIG), unique=True)
    received_at: Mapped[int] = mapped_column(BigInteger)
    replaced: Mapped[bool] = mapped_column(Boolean, default=False)
