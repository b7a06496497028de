"""Invoices: created with a fresh reference key, read with the status our validator gives the indexed transfers
naming that reference, and settled by the settlement pass (status changes -> webhooks; finalized credits ->
ledger entries ``payment:<signature>:<ix>``).

A transfer that names the references of several invoices is credited to the oldest of them only (so one movement
is never counted twice); for the others it is ignored.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from solders.keypair import Keypair
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend.chain.treasury import Treasury
from backend.config import Settings
from backend.errors import InvalidInput, NotFound
from backend.ledger import service as ledger
from backend.models.indexer import IndexerCursor, TokenTransfer, TransferReference
from backend.models.meta import AppMeta
from backend.models.payments import OPEN, Invoice, InvoicePayment
from backend.payments import solanapay, validator, webhooks
from backend.payments.validator import CREDIT, WRONG_MINT, State, Terms, Transfer

LABEL = "iog"
EVM = "USDC-EVM"  # invoices of the EVM rail (backend.payments.evm_invoices): never on the Solana path
IGNORED_SHARED = "shared_with_older_invoice"


@dataclass
class InvoiceView:
    """An invoice with its live state and how far the indexer has read."""

    invoice: Invoice
    state: State
    as_of_slot: int | None


def new_id() -> str:
    """A fresh invoice id (96 random bits): also the payment's memo."""
    return "inv_" + secrets.token_hex(12)


def fee_bps(settings: Settings, currency: str) -> int:
    """The fee on payments in ``currency``."""
    return settings.fee_payment_usdc_bps if currency in ("USDC", EVM) else settings.fee_payment_io_bps


def check_terms(settings: Settings, expires_in: int, callback_url: str | None, api_key_id: str | None) -> None:
    """The checks every new invoice passes (any rail)."""
    if not 60 <= expires_in <= settings.invoice_max_expires_seconds:
        raise InvalidInput(f"expires_in: between 60 and {settings.invoice_max_expires_seconds} seconds")
    if callback_url is not None and api_key_id is None:
        raise InvalidInput("callback_url: webhooks are signed with the secret of an API key; use an API key")


def create(
    session: Session,
    settings: Settings,
    treasury: Treasury,
    *,
    buyer: str,
    created_by: str,
    api_key_id: str | None,
    amount: int,
    currency: str,
    description: str,
    expires_in: int,
    callback_url: str | None,
    job_id: str | None,
    now: int,
) -> Invoice:
    """A new open invoice naming a fresh reference key."""
    cur = treasury.currency(currency)
    check_terms(settings, expires_in, callback_url, api_key_id)
    inv = Invoice(
        id=new_id(),
        buyer=buyer,
        created_by=created_by,
        api_key_id=api_key_id,
        currency=cur.code,
        mint=cur.mint,
        recipient=treasury.owner,
        destination=cur.account,
        amount=amount,
        fee_bps=fee_bps(settings, cur.code),
        reference=str(Keypair().pubkey()),
        description=description,
        job_id=job_id,
        callback_url=callback_url,
        status=OPEN,
        flags="",
        created_at=now,
        expires_at=now + expires_in,
        updated_at=now,
    )
    session.add(inv)
    session.flush()
    return inv


def get(session: Session, invoice_id: str) -> Invoice:
    """The invoice ``invoice_id``; ``NotFound`` otherwise."""
    inv = session.get(Invoice, invoice_id) if len(invoice_id) <= 40 else None
    if inv is None:
        raise NotFound(f"no invoice {invoice_id!r}")
    return inv


def list_for(session: Session, buyer: str, limit: int, offset: int) -> list[Invoice]:
    """A buyer's invoices, newest first."""
    q = select(Invoice).where(Invoice.buyer == buyer).order_by(Invoice.created_at.desc(), Invoice.id)
    return list(session.execute(q.limit(limit).offset(offset)).scalars())


def solana_pay_url(inv: Invoice, decimals: int) -> str:
    """The transfer-request URL of an invoice (Solana Pay spec; memo = the invoice id)."""
    req = solanapay.TransferRequest(
        recipient=inv.recipient,
        amount=inv.amount,
        spl_token=inv.mint,
        references=(inv.reference,),
        label=LABEL,
        message=inv.description or f"Invoice {inv.id}",
        memo=inv.id,
    )
    return solanapay.encode(req, decimals)


def transaction_request_url(settings: Settings, inv: Invoice) -> str:
    """The transaction-request URL (``pay-invoice`` action) of an invoice."""
    link = f"{settings.api_uri.rstrip('/')}/tx/pay-invoice?{urlencode({'invoice': inv.id})}"
    return "solana:" + quote(link, safe="")


def terms(inv: Invoice, treasury: Treasury) -> Terms:
    """The validator's view of an invoice."""
    accounts = {c.account: c.mint for c in treasury.currencies.values()}
    return Terms(inv.amount, inv.mint, inv.destination, inv.expires_at, accounts)


def as_of_slot(session: Session, treasury: Treasury) -> int | None:
    """The finalized slot the indexer has read every treasury account through (None before its first pass)."""
    rows = session.execute(
        select(IndexerCursor.address, IndexerCursor.synced_slot).where(IndexerCursor.address.in_(treasury.accounts))
    ).all()
    slots = {a: int(s or 0) for a, s in rows}
    if not slots or any(not slots.get(a) for a in treasury.accounts):
        return None
    return min(slots.values())


def transfers_for(session: Session, invoices: Sequence[Invoice]) -> dict[str, list[Transfer]]:
    """Indexed transfers naming each invoice's reference (invoice id -> transfers), each credited to one invoice."""
    by_ref = {inv.reference: inv for inv in invoices}
    out: dict[str, list[Transfer]] = {inv.id: [] for inv in invoices}
    if not by_ref:
        return out
    t, r = TokenTransfer, TransferReference
    rows = session.execute(
        select(r.reference, t)
        .join(t, and_(t.signature == r.signature, t.ix_path == r.ix_path))
        .where(r.reference.in_(list(by_ref)))
        .order_by(t.slot, t.signature, t.ix_path)
    ).all()
    keys = {(row[1].signature, row[1].ix_path) for row in rows}
    owner = _owners(session, keys)
    for ref, tr in rows:
        inv = by_ref[ref]
        if owner.get((tr.signature, tr.ix_path), inv.id) != inv.id:
            continue
        out[inv.id].append(
            Transfer(
                signature=tr.signature,
                ix_path=tr.ix_path,
                slot=tr.slot,
                block_time=tr.block_time,
                kind=tr.kind,
                mint=tr.mint,
                amount=int(tr.amount_raw),
                source_owner=tr.source_owner,
                destination=tr.destination,
                failed=tr.failed,
                status=tr.status,
            )
        )
    return out


def _owners(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """For transfers naming several invoices' references: the oldest such invoice (only those are returned)."""
    keys = list(keys)
    if not keys:
        return {}
    r = TransferReference
    named: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for i in range(0, len(keys), 200):
        part = keys[i : i + 200]
        cond = or_(*(and_(r.signature == s, r.ix_path == p) for s, p in part))
        rows = session.execute(
            select(r.signature, r.ix_path, Invoice.created_at, Invoice.id)
            .join(Invoice, Invoice.reference == r.reference)
            .where(cond)
        )
        for sig, path, created, inv_id in rows:
            named[(sig, path)].append((created, inv_id))
    return {k: min(v)[1] for k, v in named.items() if len(v) > 1}


def view(session: Session, treasury: Treasury, invoices: Sequence[Invoice], now: int) -> list[InvoiceView]:
    """Live views of invoices (status computed now from the indexed transfers)."""
    transfers = transfers_for(session, invoices)
    slot = as_of_slot(session, treasury)
    return [
        InvoiceView(inv, validator.evaluate(terms(inv, treasury), transfers[inv.id], now), slot) for inv in invoices
    ]


# --- the settlement pass -------------------------------------------------------------------------------------


WATERMARK = "payments.invoice_watermark"


def _watermark(session: Session) -> int:
    row = session.get(AppMeta, WATERMARK)
    return int(row.value) if row is not None else 0


def _set_watermark(session: Session, slot: int) -> None:
    row = session.get(AppMeta, WATERMARK)
    if row is None:
        session.add(AppMeta(key=WATERMARK, value=str(slot)))
    elif int(row.value) < slot:
        row.value = str(slot)


def _candidates(session: Session, now: int, after_slot: int) -> list[Invoice]:
    """Invoices whose transfers changed since the last pass, or that expire now.

    Only transfers above ``after_slot`` can be new or changed: every finalized row at or below the slot the indexer
    had covered when the previous pass started was there, finalized, for that pass (the indexer commits a pass's
    rows before it marks the slot covered), so the scan stays small however long the history grows."""
    t, r, p = TokenTransfer, TransferReference, InvoicePayment
    changed = (
        select(Invoice.id)
        .join(r, r.reference == Invoice.reference)
        .join(t, and_(t.signature == r.signature, t.ix_path == r.ix_path))
        .join(p, and_(p.signature == t.signature, p.ix_path == t.ix_path), isouter=True)
        .where(t.slot > after_slot, or_(p.signature.is_(None), p.status != t.status), Invoice.currency != EVM)
    )
    dropped = (
        select(p.invoice_id)
        .join(t, and_(t.signature == p.signature, t.ix_path == p.ix_path), isouter=True)
        .join(Invoice, Invoice.id == p.invoice_id)
        .where(p.status != "finalized", t.signature.is_(None), Invoice.currency != EVM)
    )
    expiring = select(Invoice.id).where(Invoice.status == OPEN, Invoice.expires_at < now, Invoice.currency != EVM)
    ids: set[str] = set()
    for q in (changed, dropped, expiring):
        ids.update(session.execute(q).scalars())
    if not ids:
        return []
    return list(session.execute(select(Invoice).where(Invoice.id.in_(sorted(ids)))).scalars())


def _payment_entry(inv: Invoice, c: validator.Classified, treasury: Treasury) -> ledger.EntrySpec | None:
    t = c.transfer
    cur = treasury.by_mint(c.mint)
    if cur is None:
        return None
    amount = t.amount
    fee = amount * inv.fee_bps // 10_000 if c.outcome == CREDIT else 0
    legs = (
        ledger.debit(ledger.TREASURY, cur.code, amount),
        ledger.credit(ledger.buyer(inv.buyer), cur.code, amount - fee),
        ledger.credit(ledger.FEES, cur.code, fee),
    )
    memo = f"invoice {inv.id}" + (" (wrong mint: refundable)" if c.outcome == WRONG_MINT else "")
    memo += " (late)" if c.late else ""
    return ledger.EntrySpec(
        key=f"payment:{t.signature}:{t.ix_path}",
        cause="payment",
        cause_id=inv.id,
        legs=legs,
        memo=memo,
        chain=ledger.ChainLink(t.signature, t.ix_path, t.slot),
    )


@dataclass
class RefreshResult:
    """What one pass did."""

    changed: list[tuple[str, str, str]]  # (invoice id, old status, new status)
    booked: int


def refresh(session: Session, treasury: Treasury, now: int) -> RefreshResult:
    """Bring stored statuses up to date (a webhook event per change) and book finalized credits."""
    covered = as_of_slot(session, treasury)  # read first: the rows at or below it are all in this snapshot
    invoices = _candidates(session, now, _watermark(session))
    result = RefreshResult([], 0)
    if covered is not None:
        _set_watermark(session, covered)
    if not invoices:
        return result
    transfers = transfers_for(session, invoices)
    specs: list[ledger.EntrySpec] = []
    for inv in invoices:
        state = validator.evaluate(terms(inv, treasury), transfers[inv.id], now)
        flags = ",".join(state.flags)
        if (state.status, flags) != (inv.status, inv.flags):
            old = inv.status
            inv.status, inv.flags, inv.updated_at = state.status, flags, now
            result.changed.append((inv.id, old, state.status))
            webhooks.enqueue_invoice_event(session, inv, old, state, now)
        seen = {
            (p.signature, p.ix_path): p
            for p in session.execute(select(InvoicePayment).where(InvoicePayment.invoice_id == inv.id)).scalars()
        }
        current = set()
        for c in state.transfers:
            key = (c.transfer.signature, c.transfer.ix_path)
            current.add(key)
            row = seen.get(key)
            if row is None:
                row = InvoicePayment(
                    signature=key[0], ix_path=key[1], invoice_id=inv.id, status=c.transfer.status,
                    outcome=c.outcome, booked=False,
                )  # fmt: skip
                session.add(row)
            row.status, row.outcome = c.transfer.status, c.outcome
            if c.transfer.status == "finalized" and c.outcome in (CREDIT, WRONG_MINT) and not row.booked:
                spec = _payment_entry(inv, c, treasury)
                if spec is not None:
                    specs.append(spec)
                    row.booked = True
        for key, row in seen.items():
            if key not in current:  # a pending transfer that never finalized (dropped by the indexer)
                session.delete(row)
    if specs:
        ledger.post_many(session, specs, now)
        result.booked = len(specs)
    session.flush()
    return result
