"""Routes: /invoices (create, read with live status, list, webhook log), /webhooks/secret, and the ``pay-invoice``
transaction request (registered at import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from solders.pubkey import Pubkey

from backend.auth.deps import ClockDep, Principal, PrincipalDep, require_role
from backend.chain import treasury as treasury_mod
from backend.chain.tokens import io_account, memo_instruction, transfer_checked_ix
from backend.chain.txbuild import WouldFail
from backend.config import Settings
from backend.deps import PageDep, SessionDep, pubkey
from backend.errors import Forbidden, InvalidInput
from backend.evm.service import eip681_links
from backend.ledger.amounts import parse_amount
from backend.models.payments import EXPIRED, OVERPAID, PAID, Invoice
from backend.money import format_units
from backend.payments import evm_invoices, invoices, webhooks
from backend.payments.invoice_schemas import (
    AttemptOut,
    Eip681LinksOut,
    InvoiceIn,
    InvoiceList,
    InvoiceOut,
    InvoiceTransferOut,
    PaymentInstructionsOut,
    WebhookEventOut,
    WebhookLog,
    WebhookSecretOut,
)
from backend.payments.validator import State
from backend.txrequests.registry import Action, Param, Plan, RequestContext, register

router = APIRouter(tags=["invoices"])
OrchestratorDep = Annotated[Principal, Depends(require_role("orchestrator"))]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _transfers_out(st: State) -> list[InvoiceTransferOut]:
    return [
        InvoiceTransferOut(
            signature=c.transfer.signature,
            ix_path=c.transfer.ix_path,
            slot=c.transfer.slot,
            block_time=c.transfer.block_time,
            mint=c.mint,
            amount=str(c.transfer.amount),
            source_owner=c.transfer.source_owner,
            status="pending" if c.transfer.status == "confirmed" else c.transfer.status,
            outcome=c.outcome,
            late=c.late,
        )
        for c in st.transfers
    ]


def _evm_out(v: evm_invoices.EvmInvoiceView) -> InvoiceOut:
    inv, st, instr = v.invoice, v.state, v.instructions
    links = eip681_links(instr)
    return InvoiceOut(
        id=inv.id, reference=instr.invoice_id, recipient=inv.recipient, destination=inv.destination, mint=inv.mint,
        currency=inv.currency, amount=str(inv.amount), fee_bps=inv.fee_bps, buyer=inv.buyer,
        description=inv.description, job=inv.job_id, solana_pay_url=None, transaction_request_url=None,
        payment_instructions=PaymentInstructionsOut(**instr.as_dict()), eip681_url=links["pay"],
        eip681_links=Eip681LinksOut(**links), created_at=inv.created_at, expires_at=inv.expires_at,
        status=st.status, flags=st.flags, paid=str(st.paid), pending=str(st.pending), excess=str(st.excess),
        as_of_slot=None, as_of_block=v.as_of_block, confirmations_required=v.confirmations,
        transfers=_transfers_out(st),
    )  # fmt: skip


def views_out(
    session: SessionDep, settings: Settings, treasury: treasury_mod.Treasury, invs: list[Invoice], now: int
) -> list[InvoiceOut]:
    """Both rails' invoices, in the given order."""
    solana = [i for i in invs if not evm_invoices.is_evm(i)]
    on_evm = [i for i in invs if evm_invoices.is_evm(i)]
    outs: dict[str, InvoiceOut] = {v.invoice.id: _out(v, treasury, settings)
                                   for v in invoices.view(session, treasury, solana, now)}
    if on_evm:
        rail = evm_invoices.require_rail(settings)
        outs.update({v.invoice.id: _evm_out(v) for v in evm_invoices.view(session, rail, on_evm, now)})
    return [outs[i.id] for i in invs]


def _out(v: invoices.InvoiceView, treasury: treasury_mod.Treasury, settings: Settings) -> InvoiceOut:
    inv, st = v.invoice, v.state
    decimals = treasury.currency(inv.currency).decimals
    return InvoiceOut(
        id=inv.id,
        reference=inv.reference,
        recipient=inv.recipient,
        destination=inv.destination,
        mint=inv.mint,
        currency=inv.currency,
        amount=str(inv.amount),
        fee_bps=inv.fee_bps,
        buyer=inv.buyer,
        description=inv.description,
        job=inv.job_id,
        solana_pay_url=invoices.solana_pay_url(inv, decimals),
        transaction_request_url=invoices.transaction_request_url(settings, inv),
        created_at=inv.created_at,
        expires_at=inv.expires_at,
        status=st.status,
        flags=st.flags,
        paid=str(st.paid),
        pending=str(st.pending),
        excess=str(st.excess),
        as_of_slot=v.as_of_slot,
        transfers=_transfers_out(st),
    )


def _callback(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url: an absolute http(s) URL is required")
    return url


@router.post("/invoices", response_model=InvoiceOut, status_code=201, summary="Create an invoice")
def create_invoice(
    body: InvoiceIn, request: Request, session: SessionDep, who: PrincipalDep, now: ClockDep
) -> InvoiceOut:
    """A signed-in buyer invoices themself; an ``orchestrator`` API key invoices ``buyer``."""
    settings = _settings(request)
    if who.kind == "wallet":
        assert who.address is not None
        if body.buyer not in (None, who.address):
            raise Forbidden("a signed-in wallet creates invoices for itself only")
        buyer, created_by, key_id = who.address, f"wallet:{who.address}", None
    elif who.role == "orchestrator":
        if body.buyer is None:
            raise InvalidInput("buyer: required when an API key creates the invoice")
        buyer, created_by, key_id = pubkey(body.buyer, "buyer"), f"key:{who.key_id}", who.key_id
    else:
        raise Forbidden("invoices are created by a signed-in buyer or an orchestrator API key")
    amount = parse_amount(body.amount)
    expires_in = body.expires_in if body.expires_in is not None else settings.invoice_expires_seconds
    if body.currency == evm_invoices.EVM:
        rail = evm_invoices.require_rail(settings)
        inv = evm_invoices.create(
            session, settings, rail, buyer=buyer, created_by=created_by, api_key_id=key_id, amount=amount,
            description=body.description, expires_in=expires_in, callback_url=_callback(body.callback_url),
            job_id=body.job, now=now,
        )  # fmt: skip
        (ev,) = evm_invoices.view(session, rail, [inv], now)
        return _evm_out(ev)
    treasury = treasury_mod.load(settings)
    inv = invoices.create(
        session,
        settings,
        treasury,
        buyer=buyer,
        created_by=created_by,
        api_key_id=key_id,
        amount=amount,
        currency=body.currency,
        description=body.description,
        expires_in=expires_in,
        callback_url=_callback(body.callback_url),
        job_id=body.job,
        now=now,
    )
    (v,) = invoices.view(session, treasury, [inv], now)
    return _out(v, treasury, settings)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut, summary="An invoice and its live status")
def get_invoice(invoice_id: str, request: Request, session: SessionDep, now: ClockDep) -> InvoiceOut:
    """Public by id (ids are unguessable): what a checkout page polls. Status is computed from the indexed transfers
    now; ``as_of_slot`` says how far the indexer has read (not found is never unpaid)."""
    settings = _settings(request)
    treasury = treasury_mod.load(settings)
    (out,) = views_out(session, settings, treasury, [invoices.get(session, invoice_id)], now)
    return out


@router.get("/invoices", response_model=InvoiceList, summary="A buyer's invoices, newest first")
def list_invoices(
    request: Request,
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    now: ClockDep,
    buyer: Annotated[str | None, Query(description="The buyer's wallet (default: the signed-in wallet)")] = None,
) -> InvoiceList:
    """A signed-in wallet lists its own invoices; an orchestrator or admin key any buyer's."""
    if who.kind == "wallet":
        if buyer not in (None, who.address):
            raise Forbidden("a signed-in wallet lists its own invoices only")
        buyer = who.address
    elif buyer is None:
        raise InvalidInput("buyer: required with an API key")
    assert buyer is not None
    buyer = pubkey(buyer, "buyer")
    settings = _settings(request)
    treasury = treasury_mod.load(settings)
    outs = views_out(session, settings, treasury, invoices.list_for(session, buyer, page.limit, page.offset), now)
    return InvoiceList(
        buyer=buyer,
        limit=page.limit,
        offset=page.offset,
        as_of_slot=invoices.as_of_slot(session, treasury),
        invoices=outs,
    )


@router.get("/invoices/{invoice_id}/webhooks", response_model=WebhookLog, summary="Webhook delivery log")
def invoice_webhooks(invoice_id: str, session: SessionDep, who: PrincipalDep) -> WebhookLog:
    """The events of an invoice and every delivery attempt (the API key that created it, or an admin key)."""
    inv = invoices.get(session, invoice_id)
    if not (who.role == "admin" or (who.kind == "api_key" and who.key_id == inv.api_key_id)):
        raise Forbidden("the webhook log is for the API key that created the invoice (or an admin key)")
    return WebhookLog(
        invoice=inv.id,
        events=[
            WebhookEventOut(
                id=ev.id,
                type=ev.type,
                url=ev.url,
                state=ev.state,
                attempts=ev.attempts,
                next_attempt_at=ev.next_attempt_at,
                created_at=ev.created_at,
                delivered_at=ev.delivered_at,
                last_error=ev.last_error,
                body=ev.body,
                log=[
                    AttemptOut(
                        attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                    )
                    for a in attempts
                ],
            )  # fmt: skip
            for ev, attempts in webhooks.log_for(session, inv.id)
        ],
    )


@router.get("/webhooks/secret", response_model=WebhookSecretOut, summary="This API key's webhook secret")
def webhook_secret(request: Request, session: SessionDep, who: OrchestratorDep, now: ClockDep) -> WebhookSecretOut:
    assert who.key_id is not None
    return WebhookSecretOut(
        api_key_id=who.key_id, secret=webhooks.secret_for(session, _settings(request), who.key_id, now)
    )


@router.post("/webhooks/secret/rotate", response_model=WebhookSecretOut, summary="Replace this key's webhook secret")
def rotate_webhook_secret(
    request: Request, session: SessionDep, who: OrchestratorDep, now: ClockDep
) -> WebhookSecretOut:
    assert who.key_id is not None
    return WebhookSecretOut(api_key_id=who.key_id, secret=webhooks.rotate(session, _settings(request), who.key_id, now))


# --- the transaction request ---------------------------------------------------------------------------------


def _pay_invoice_plan(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    """The Solana Pay URL's transfer, for the wallet that asks: memo (the invoice id), then transferChecked of the
    amount from the wallet's token account to the treasury's, naming the reference."""
    treasury = treasury_mod.load(ctx.settings)
    inv = invoices.get(ctx.session, params["invoice"])
    if evm_invoices.is_evm(inv):
        raise WouldFail("WrongRail", f"invoice {inv.id} is paid in {inv.currency} on the EVM chain (its eip681_url)")
    (v,) = invoices.view(ctx.session, treasury, [inv], ctx.now)
    if v.state.status in (PAID, OVERPAID):
        raise WouldFail("InvoiceAlreadyPaid", f"invoice {inv.id} is {v.state.status}")
    if v.state.status == EXPIRED or ctx.now > inv.expires_at:
        raise WouldFail("InvoiceExpired", f"invoice {inv.id} expired at {inv.expires_at}")
    cur = treasury.currency(inv.currency)
    mint = Pubkey.from_string(inv.mint)
    ixs = [
        memo_instruction(inv.id),
        transfer_checked_ix(
            io_account(account, mint),
            mint,
            Pubkey.from_string(inv.destination),
            account,
            inv.amount,
            cur.decimals,
            [Pubkey.from_string(inv.reference)],
        ),
    ]
    return Plan(ixs, f"Pay {format_units(inv.amount, cur.decimals)} {cur.code}: {inv.description or inv.id}")


register(
    Action(
        "pay-invoice",
        "iog invoice",
        _pay_invoice_plan,
        (Param("invoice", "The invoice id (inv_...)"),),
        "Pay an invoice: the same transfer as its Solana Pay URL, built for the wallet that asks",
    )
)
