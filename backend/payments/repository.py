"""Queries over the indexer's ``token_transfers`` joined with ``transfer_references``, and its cursors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from backend.models.indexer import IndexerCursor, TokenTransfer, TransferReference


class TransferFacts(NamedTuple):
    """The columns that decide whether a transfer counts."""

    status: str
    failed: bool
    mint: str | None
    destination: str
    amount_raw: str


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


def facts_by_reference(session: Session, reference: str) -> Iterator[TransferFacts]:
    """The deciding columns of every transfer naming ``reference``.

    Amounts stay exact text, summed by the caller in Python: SQLite's SUM would overflow above 2**63-1.
    """
    stmt = _naming(reference).with_only_columns(
        TokenTransfer.status,
        TokenTransfer.failed,
        TokenTransfer.mint,
        TokenTransfer.destination,
        TokenTransfer.amount_raw,
    )
    for row in session.execute(stmt):
        yield TransferFacts(*row)


def cursor(session: Session, address: str) -> IndexerCursor | None:
    """The indexer's cursor of ``address`` (None when it keeps none)."""
    return session.get(IndexerCursor, address)
