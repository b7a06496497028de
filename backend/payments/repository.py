"""Queries over the indexer's ``token_transfers`` joined with ``transfer_references``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from backend.models.indexer import CONFIRMED, FINALIZED, TokenTransfer, TransferReference


def _naming(reference: str) -> Select[TokenTransfer]:
    return (
        select(TokenTransfer)
        .join(
            TransferReference,
            and_(
                TransferReference.signature == TokenTransfer.signature,
                TransferReference.ix_path == TokenTransfer.ix_path,
            ),
        )
        .where(TransferReference.reference == reference)
    )


def transfers_by_reference(session: Session, reference: str, limit: int, offset: int) -> Sequence[TokenTransfer]:
    """A page of the transfers naming ``reference``, oldest first."""
    stmt = _naming(reference).order_by(TokenTransfer.slot, TokenTransfer.signature, TokenTransfer.ix_path)
    return session.scalars(stmt.limit(limit).offset(offset)).all()


def count_by_reference(session: Session, reference: str) -> int:
    """Number of transfers naming ``reference`` (every mint and status, failed included)."""
    return int(session.scalar(select(func.count()).select_from(_naming(reference).subquery())) or 0)


def io_paid(session: Session, reference: str) -> dict[str, int]:
    """IO amounts of successful transfers naming ``reference``, summed per status (``confirmed``/``finalized``).

    Summed in Python from the exact text: SQLite's SUM would overflow above 2**63-1.
    """
    naming = _naming(reference).where(TokenTransfer.is_io.is_(True), TokenTransfer.failed.is_(False))
    stmt = naming.with_only_columns(TokenTransfer.status, TokenTransfer.amount_raw)
    totals = {CONFIRMED: 0, FINALIZED: 0}
    for status, amount_raw in session.execute(stmt):
        totals[status] = totals.get(status, 0) + int(amount_raw)
    return totals
