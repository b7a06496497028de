"""Queries over the indexer's cursors and raw tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.models.indexer import CONFIRMED, IndexedTransaction, IndexerCursor, ProgramEvent, TokenTransfer


def cursors(session: Session) -> Sequence[IndexerCursor]:
    """Every address the indexer keeps a cursor for, by address."""
    return session.scalars(select(IndexerCursor).order_by(IndexerCursor.address)).all()


def rows_for(session: Session, address: str) -> int:
    """Transfers touching ``address`` plus events of a program at ``address`` (one of them is zero)."""
    transfers = select(func.count()).where(or_(TokenTransfer.source == address, TokenTransfer.destination == address))
    events = select(func.count()).where(ProgramEvent.program_id == address)
    return int(session.scalar(transfers) or 0) + int(session.scalar(events) or 0)


def transaction_counts(session: Session) -> tuple[int, int, int]:
    """(all, pending, failed) stored transactions."""
    stmt = select(
        func.count(),
        func.count().filter(IndexedTransaction.status == CONFIRMED),
        func.count().filter(IndexedTransaction.failed.is_(True)),
    ).select_from(IndexedTransaction)
    total, pending, failed = session.execute(stmt).one()
    return int(total), int(pending or 0), int(failed or 0)
