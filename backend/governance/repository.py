"""Queries over the governance tables (and the indexed transfers into the community treasury)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from backend.models.governance import GovernanceBallot, GovernanceProposal, GovernanceSnapshotEntry
from backend.models.indexer import FINALIZED, TokenTransfer
from backend.models.ledger import LedgerEntry


def proposals(session: Session, state: str | None, limit: int, offset: int) -> Sequence[GovernanceProposal]:
    """A page of proposals, newest first."""
    q = select(GovernanceProposal)
    if state is not None:
        q = q.where(GovernanceProposal.state == state)
    q = q.order_by(GovernanceProposal.created_at.desc(), GovernanceProposal.id).limit(limit).offset(offset)
    return session.scalars(q).all()


def in_state(session: Session, states: Sequence[str]) -> list[GovernanceProposal]:
    """Proposals in any of ``states``, oldest first."""
    q = select(GovernanceProposal).where(GovernanceProposal.state.in_(list(states)))
    return list(session.scalars(q.order_by(GovernanceProposal.created_at, GovernanceProposal.id)))


def due_to_close(session: Session, state: str, now: int) -> list[GovernanceProposal]:
    """Proposals in ``state`` whose voting window has ended, locked for the close on PostgreSQL."""
    q = (
        select(GovernanceProposal)
        .where(GovernanceProposal.state == state, GovernanceProposal.voting_ends_at <= now)
        .order_by(GovernanceProposal.voting_ends_at, GovernanceProposal.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def snapshot(session: Session, proposal_id: str) -> list[GovernanceSnapshotEntry]:
    """The snapshot entries of a proposal, by wallet."""
    q = select(GovernanceSnapshotEntry).where(GovernanceSnapshotEntry.proposal_id == proposal_id)
    return list(session.scalars(q.order_by(GovernanceSnapshotEntry.wallet)))


def snapshot_entry(session: Session, proposal_id: str, wallet: str) -> GovernanceSnapshotEntry | None:
    return session.get(GovernanceSnapshotEntry, (proposal_id, wallet))


def ballots(session: Session, proposal_id: str) -> list[GovernanceBallot]:
    """Every accepted ballot of a proposal, in received order."""
    q = select(GovernanceBallot).where(GovernanceBallot.proposal_id == proposal_id)
    return list(session.scalars(q.order_by(GovernanceBallot.seq)))


def ballot_by_nonce(session: Session, proposal_id: str, voter: str, nonce: str) -> GovernanceBallot | None:
    q = select(GovernanceBallot).where(
        GovernanceBallot.proposal_id == proposal_id, GovernanceBallot.voter == voter, GovernanceBallot.nonce == nonce
    )
    return session.scalars(q).first()


def ballot_by_signature(session: Session, signature: str) -> GovernanceBallot | None:
    return session.scalars(select(GovernanceBallot).where(GovernanceBallot.signature == signature)).first()


def mark_replaced(session: Session, proposal_id: str, voter: str) -> None:
    """Every earlier ballot of ``voter`` on the proposal is replaced by the one being added."""
    session.execute(
        update(GovernanceBallot)
        .where(GovernanceBallot.proposal_id == proposal_id, GovernanceBallot.voter == voter)
        .values(replaced=True)
    )


def unbooked_inflows(session: Session, account: str, mint: str) -> list[TokenTransfer]:
    """Finalized, successful IO transfers into ``account`` that no ledger entry books yet."""
    t = TokenTransfer
    q = (
        select(t)
        .join(LedgerEntry, and_(LedgerEntry.signature == t.signature, LedgerEntry.ix_path == t.ix_path), isouter=True)
        .where(
            t.destination == account,
            t.mint == mint,
            t.status == FINALIZED,
            t.failed.is_(False),
            LedgerEntry.id.is_(None),
        )
        .order_by(t.slot, t.signature, t.ix_path)
    )
    return list(session.scalars(q))


def memo_pending(session: Session) -> list[GovernanceProposal]:
    """Closed proposals whose outcome memo has not landed yet."""
    q = select(GovernanceProposal).where(
        GovernanceProposal.outcome_hash.is_not(None),
        (GovernanceProposal.memo_status.is_(None)) | (GovernanceProposal.memo_status != "landed"),
    )
    return list(session.scalars(q.order_by(GovernanceProposal.tallied_at, GovernanceProposal.id)))
