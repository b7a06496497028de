"""Routes: payments by Solana Pay reference (read-only, from the indexer's rows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backend.config import Settings
from backend.deps import PageDep, SessionDep, pubkey
from backend.models.indexer import CONFIRMED, FINALIZED, TokenTransfer
from backend.payments import repository as repo
from backend.payments import service
from backend.payments.schemas import PaymentByReference, TransferOut

router = APIRouter(tags=["payments"])

STATUS = {CONFIRMED: "pending", FINALIZED: "finalized"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _transfer_out(t: TokenTransfer, target: service.Target) -> TransferOut:
    reason = service.not_counted_reason(
        repo.TransferFacts(t.status, t.failed, t.mint, t.destination, t.amount_raw), target
    )
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
        counted=reason is None,
        reason=reason,
    )


@router.get(
    "/payments/by-reference/{reference}",
    response_model=PaymentByReference,
    summary="Transfers naming a Solana Pay reference, and what reached the recipient",
)
def by_reference(
    reference: str,
    session: SessionDep,
    page: PageDep,
    settings: Annotated[Settings, Depends(_settings)],
    recipient: Annotated[
        str | None, Query(description="Wallet the payment is for (base58); default: the treasury wallet")
    ] = None,
    mint: Annotated[str | None, Query(description="Mint it must be paid in (base58); default: the IO mint")] = None,
) -> PaymentByReference:
    """Every transfer naming ``reference``; only those of ``mint`` into ``recipient``'s token account, successful
    and finalized, are paid (pending ones are shown and summed apart; the others are listed with the reason)."""
    ref = pubkey(reference, "reference")
    target = service.resolve_target(
        settings,
        None if recipient is None else pubkey(recipient, "recipient"),
        None if mint is None else pubkey(mint, "mint"),
    )
    summary = service.summarize(session, ref, target)
    as_of_slot, note = service.as_of(session, target)
    rows = repo.transfers_by_reference(session, ref, page.limit, page.offset)
    return PaymentByReference(
        reference=ref,
        paid_finalized=str(summary.paid_finalized),
        paid_pending=str(summary.paid_pending),
        total=summary.total,
        limit=page.limit,
        offset=page.offset,
        transfers=[_transfer_out(t, target) for t in rows],
        recipient=target.recipient,
        mint=target.mint,
        token_account=target.token_account,
        not_counted=summary.not_counted,
        as_of_slot=as_of_slot,
        note=note,
    )
