"""Routes: payments by Solana Pay reference (read-only, from the indexer's rows)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import PageDep, SessionDep, pubkey
from backend.models.indexer import TokenTransfer
from backend.payments import repository as repo
from backend.payments.schemas import PaymentByReference, TransferOut

router = APIRouter(tags=["payments"])

STATUS = {repo.CONFIRMED: "pending", repo.FINALIZED: "finalized"}


def _transfer_out(t: TokenTransfer) -> TransferOut:
    return TransferOut(
        signature=t.signature,
        ix_path=t.ix_path,
        slot=t.slot,
        block_time=t.block_time,
        kind=t.kind,
        mint=t.mint,
        is_io=t.is_io,
        amount=t.amount_raw,
        source=t.source,
        destination=t.destination,
        source_owner=t.source_owner,
        destination_owner=t.destination_owner,
        memo=t.memo,
        status=STATUS.get(t.status, t.status),
        failed=t.failed,
        counted=t.is_io and not t.failed and t.status == repo.FINALIZED,
    )


@router.get(
    "/payments/by-reference/{reference}",
    response_model=PaymentByReference,
    summary="Transfers naming a Solana Pay reference, and the IO paid",
)
def by_reference(reference: str, session: SessionDep, page: PageDep) -> PaymentByReference:
    """Every transfer naming ``reference`` (pending ones shown, failed and other mints flagged, never counted)."""
    ref = pubkey(reference, "reference")
    paid = repo.io_paid(session, ref)
    return PaymentByReference(
        reference=ref,
        paid_finalized=str(paid[repo.FINALIZED]),
        paid_pending=str(paid[repo.CONFIRMED]),
        total=repo.count_by_reference(session, ref),
        limit=page.limit,
        offset=page.offset,
        transfers=[_transfer_out(t) for t in repo.transfers_by_reference(session, ref, page.limit, page.offset)],
    )
