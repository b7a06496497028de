"""Routes: /jobs (start, read, complete, cancel), /refunds (a buyer's refund from their balance), /supply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select

from backend.auth.deps import ClockDep, Principal, PrincipalDep, WalletDep
from backend.chain import treasury as treasury_mod
from backend.chain.history import JsonRpc
from backend.deps import SessionDep, pubkey
from backend.errors import Forbidden, InvalidInput
from backend.ledger.amounts import parse_amount
from backend.models.indexer import FINALIZED, TokenTransfer
from backend.models.settlement import CANCELLED, COMPLETED, Burn, Job, SettlementTransfer
from backend.payments import evm_invoices
from backend.settlement import evm as evm_settlement
from backend.settlement import jobs, transfers
from backend.settlement.schemas import (
    BurnOut,
    ChargeOut,
    JobIn,
    JobOut,
    RefundIn,
    SupplyOut,
    TransferList,
    TransferOut,
)

router = APIRouter(tags=["settlement"])


def _acting_buyer(who: Principal, buyer: str | None) -> tuple[str, str]:
    """(buyer, created_by) for a signed-in buyer (themself) or an orchestrator key (the named buyer)."""
    if who.kind == "wallet":
        assert who.address is not None
        if buyer not in (None, who.address):
            raise Forbidden("a signed-in wallet acts for itself only")
        return who.address, f"wallet:{who.address}"
    if who.role != "orchestrator":
        raise Forbidden("this route is for a signed-in buyer or an orchestrator API key")
    if buyer is None:
        raise InvalidInput("buyer: required when an API key acts for a buyer")
    return pubkey(buyer, "buyer"), f"key:{who.key_id}"


def _may_see(who: Principal, owner: str) -> None:
    if who.kind == "wallet" and who.address != owner:
        raise Forbidden("a signed-in wallet sees its own jobs, payouts and refunds only")


def _job_out(session: SessionDep, job: Job) -> JobOut:
    t = jobs.totals(session, job.id)
    return JobOut(
        id=job.id,
        buyer=job.buyer,
        node=job.node,
        operator=job.operator,
        currency=job.currency,
        price_per_gpu_hour=str(job.price_per_gpu_hour),
        gpu_units=job.gpu_units,
        budget=str(job.budget),
        buyer_fee_bps=job.buyer_fee_bps,
        provider_fee_bps=job.provider_fee_bps,
        status=job.status,
        created_at=job.created_at,
        ended_at=job.ended_at,
        billed_seconds=t.seconds,
        compute=str(t.compute),
        buyer_fees=str(t.buyer_fee),
        provider_fees=str(t.provider_fee),
        reserved_left=str(0 if job.ended_at is not None else job.budget - t.gross),
        charges=[
            ChargeOut(
                period_start=c.period_start,
                gpu_seconds=c.gpu_seconds,
                billed_seconds=c.billed_seconds,
                compute=str(c.compute),
                buyer_fee=str(c.buyer_fee),
                provider_fee=str(c.provider_fee),
                note=c.note,
            )  # fmt: skip
            for c in jobs.charges(session, job.id)
        ],
    )


@router.post("/jobs", response_model=JobOut, status_code=201, summary="Start a job (reserves its budget)")
def start_job(body: JobIn, request: Request, session: SessionDep, who: PrincipalDep, now: ClockDep) -> JobOut:
    """A signed-in buyer, or an orchestrator key for a buyer. Idempotent per job id."""
    buyer, created_by = _acting_buyer(who, body.buyer)
    settings = request.app.state.settings
    job = jobs.start(
        session,
        settings,
        treasury_mod.load(settings),
        job_id=body.id,
        buyer=buyer,
        node=pubkey(body.node, "node"),
        currency=body.currency,
        price_per_gpu_hour=parse_amount(body.price_per_gpu_hour, "price_per_gpu_hour"),
        gpu_units=body.gpu_units,
        budget=parse_amount(body.budget, "budget"),
        created_by=created_by,
        now=now,
    )
    return _job_out(session, job)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A job, its charges and what is left reserved")
def get_job(job_id: str, session: SessionDep, who: PrincipalDep) -> JobOut:
    job = jobs.get(session, job_id)
    _may_see(who, job.buyer)
    return _job_out(session, job)


def _end(job_id: str, status: str, session: SessionDep, who: Principal, now: int) -> JobOut:
    job = jobs.get(session, job_id)
    _acting_buyer(who, job.buyer)
    return _job_out(session, jobs.end(session, job_id, status, now))


@router.post("/jobs/{job_id}/complete", response_model=JobOut, summary="Complete a job (unused budget released)")
def complete_job(job_id: str, session: SessionDep, who: PrincipalDep, now: ClockDep) -> JobOut:
    return _end(job_id, COMPLETED, session, who, now)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a job (unused budget released)")
def cancel_job(job_id: str, session: SessionDep, who: PrincipalDep, now: ClockDep) -> JobOut:
    return _end(job_id, CANCELLED, session, who, now)


def _transfer_out(t: SettlementTransfer) -> TransferOut:
    return TransferOut(
        id=t.id, kind=t.kind, owner=t.owner, currency=t.currency, amount=str(t.amount), destination=t.destination,
        reference=t.reference, status=t.status, signature=t.signature, slot=t.slot, created_at=t.created_at,
    )  # fmt: skip


@router.post("/refunds", response_model=TransferOut, status_code=201, summary="Refund the buyer's balance")
def create_refund(
    body: RefundIn,
    request: Request,
    session: SessionDep,
    wallet: WalletDep,
    now: ClockDep,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", description="Makes retries safe")],
) -> TransferOut:
    """Pays the signed-in buyer's wallet from their balance (default: all of it) with an SPL transfer from the
    treasury naming a fresh reference; recorded now, sent by the settlement worker, booked at finalized. USDC-EVM:
    an ERC-20 transfer by the EVM treasury key to an address that paid the buyer's invoices (``to``, default the
    newest payer), sent exactly once and booked at the confirmation depth."""
    amount = None if body.amount is None else parse_amount(body.amount)
    settings = request.app.state.settings
    if body.currency == evm_invoices.EVM:
        item = evm_settlement.request_refund(
            session, evm_invoices.require_rail(settings), buyer=wallet, amount=amount, to=body.to,
            idempotency_key=idempotency_key, now=now,
        )  # fmt: skip
        return _transfer_out(item)
    if body.to is not None:
        raise InvalidInput("to: only USDC-EVM refunds name an address; Solana refunds go to the signed-in wallet")
    item = transfers.request_refund(
        session,
        treasury_mod.load(request.app.state.settings),
        buyer=wallet,
        currency=body.currency,
        amount=amount,
        idempotency_key=idempotency_key,
        now=now,
    )
    return _transfer_out(item)


@router.get("/refunds/{refund_id}", response_model=TransferOut, summary="A refund and its status")
def get_refund(refund_id: str, session: SessionDep, who: PrincipalDep) -> TransferOut:
    item = transfers.get(session, refund_id, transfers.REFUND)
    _may_see(who, item.owner)
    return _transfer_out(item)


@router.get("/payouts", response_model=TransferList, summary="An operator's payouts, newest first")
def list_payouts(
    session: SessionDep,
    who: PrincipalDep,
    owner: Annotated[str | None, Query(description="Operator wallet (default: the signed-in wallet)")] = None,
) -> TransferList:
    if who.kind == "wallet":
        owner = owner or who.address
    if owner is None:
        raise InvalidInput("owner: required with an API key")
    owner = pubkey(owner, "owner")
    _may_see(who, owner)
    return TransferList(owner=owner, items=[_transfer_out(t) for t in transfers.list_for(session, owner, "payout")])


@router.get("/supply", response_model=SupplyOut, summary="IO minted, burned and circulating")
def supply(request: Request, session: SessionDep) -> SupplyOut:
    """From the chain at finalized: the mint's supply and the network accounts' balances; burned = the treasury's
    finalized burns the indexer saw; minted = supply + burned; circulating = supply - network accounts."""
    settings = request.app.state.settings
    treasury = treasury_mod.load(settings)
    io = treasury.currency(treasury_mod.IO)
    with JsonRpc(settings.rpc_url) as rpc:
        total, decimals, slot = rpc.token_supply(io.mint)
        held = {"treasury": rpc.token_balance(io.account)[0]}
        for name, account in treasury.reserves.items():
            held[name] = rpc.token_balance(account)[0]
    t = TokenTransfer
    burned_rows = session.execute(
        select(t.amount_raw).where(
            t.kind == "burn", t.source == io.account, t.mint == io.mint, t.status == FINALIZED, t.failed.is_(False)
        )
    ).scalars()
    burned = sum(int(a) for a in burned_rows)
    burns = session.execute(select(Burn).order_by(Burn.epoch.desc()).limit(20)).scalars()
    return SupplyOut(
        currency=io.code,
        mint=io.mint,
        decimals=decimals,
        supply=str(total),
        burned=str(burned),
        minted=str(total + burned),
        non_circulating={k: str(v) for k, v in held.items()},
        circulating=str(total - sum(held.values())),
        as_of_slot=slot,
        burns=[
            BurnOut(epoch=b.epoch, amount=str(b.amount), status=b.status, signature=b.signature, slot=b.slot)
            for b in burns
        ],  # fmt: skip
    )
