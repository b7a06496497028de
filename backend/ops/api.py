"""Routes: indexer status (read from the database; lag against the chain is ``iog indexer status``)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import SessionDep
from backend.ops import repository as repo
from backend.ops.schemas import CursorOut, IndexerStatus

router = APIRouter(tags=["ops"])


@router.get("/indexer/status", response_model=IndexerStatus, summary="Indexer cursors, rows and last errors")
def indexer_status(session: SessionDep) -> IndexerStatus:
    """Per watched address: cursor, its slot, rows stored, last error; plus transaction counts."""
    addresses = [
        CursorOut(
            address=c.address,
            last_signature=c.last_signature,
            last_slot=c.last_slot,
            synced_slot=c.synced_slot,
            rows=repo.rows_for(session, c.address),
            updated_at=c.updated_at,
            last_error=c.last_error,
            last_error_at=c.last_error_at,
        )
        for c in repo.cursors(session)
    ]
    total, pending, failed = repo.transaction_counts(session)
    return IndexerStatus(
        addresses=addresses, transactions=total, pending_transactions=pending, failed_transactions=failed
    )
