"""Invoices in ``USDC-EVM``: paid on an EVM chain through the ``PaymentRouter``, settled like the Solana ones.

An invoice of the EVM rail names a random bytes32 ``invoice_id`` that the payer's ``pay(invoiceId, amount)``
call carries in its ``Paid`` log. It is stored in ``invoices.reference`` like every 32-byte key the payment must
name (base58, 44 characters, unique), and shown as ``0x`` hex. ``mint`` is the token, ``recipient`` and
``destination`` the treasury address (an ERC-20 balance lives at the holder's address).

Status uses the same validator and rules as on Solana (:mod:`backend.payments.validator`): a payment indexed in a
verified block (1 confirmation) counts toward ``seen``, one at ``N`` confirmations (``IOG_EVM_CONFIRMATIONS``) is
money, toward ``paid`` / ``overpaid`` (the excess stays on the buyer's balance); ``partially_paid``, ``expired``;
a payment in a block stamped after expiry is still credited and flags the invoice ``late``. Every answer says how
far the EVM indexer has read (``as_of_block``). The settlement pass (:func:`refresh`) stores status changes
(webhooks fire the same way) and books each payment at N confirmations once, as ``payment:<tx hash>:<log index>``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import AppError, InvalidInput
from backend.evm import service as evm
from backend.ledger import service as ledger
from backend.models.indexer import CONFIRMED, FINALIZED
from backend.models.meta import AppMeta
from backend.models.payments import OPEN, Invoice, InvoicePayment
from backend.money import I64_MAX
from backend.payments import validator, webhooks
from backend.payments.invoices import EVM, RefreshResult, check_terms, fee_bps, new_id
from backend.payments.validator import CREDIT, State, Terms, Transfer

log = logging.getLogger(__name__)
WATERMARK = "payments.evm_invoice_watermark"


class EvmRailNotConfigured(InvalidInput):
    """USDC-EVM asked for, but this deployment has no EVM rail (run `iog evmnet bootstrap`): a currency this
    deployment does not accept, like an unknown one (422)."""


def require_rail(settings: Settings) -> evm.Rail:
    """The EVM rail of the deployment; :class:`EvmRailNotConfigured` when there is none."""
    r = evm.rail(settings)
    if r is None:
        raise EvmRailNotConfigured(
            f"currency: {EVM} is not accepted here: no EVM bootstrap file at {settings.resolved_evm_bootstrap_file} "
            "(run `iog evmnet bootstrap`, or `iog run` with IOG_EVM_RPC_URL)"
        )
    return r


def reference_of(invoice_id: str) -> str:
    """The stored form (base58 of the 32 bytes) of a ``0x`` bytes32 invoice id."""
    return str(Pubkey(bytes.fromhex(invoice_id[2:])))


def invoice_id_of(inv: Invoice) -> str:
    """The ``0x`` bytes32 invoice id of an invoice of the EVM rail."""
    return "0x" + bytes(Pubkey.from_string(inv.reference)).hex()


def is_evm(inv: Invoice) -> bool:
    """True for an invoice of the EVM rail."""
    return inv.currency == EVM


def instructions(rail: evm.Rail, inv: Invoice) -> evm.PaymentInstructions:
    """What the payer sends: ``pay(invoice_id, amount)`` through the router of this deployment."""
    return rail.instructions(invoice_id_of(inv), inv.amount)


def create(
    session: Session,
    settings: Settings,
    rail: evm.Rail,
    *,
    buyer: str,
    created_by: str,
    api_key_id: str | None,
    amount: int,
    description: str,
    expires_in: int,
    callback_url: str | None,
    job_id: str | None,
    now: int,
) -> Invoice:
    """A new open invoice naming a fresh bytes32 invoice id (amount checked as the instructions require)."""
    check_terms(settings, expires_in, callback_url, api_key_id)
    instr = rail.instructions(evm.new_invoice_id(), amount)
    inv = Invoice(
        id=new_id(), buyer=buyer, created_by=created_by, api_key_id=api_key_id, currency=EVM, mint=instr.token,
        recipient=rail.watch.treasury, destination=rail.watch.treasury, amount=amount, fee_bps=fee_bps(settings, EVM),
        reference=reference_of(instr.invoice_id), description=description, job_id=job_id,
        callback_url=callback_url, status=OPEN, flags="", created_at=now, expires_at=now + expires_in, updated_at=now,
    )  # fmt: skip
    session.add(inv)
    session.flush()
    return inv


@dataclass
class EvmInvoiceView:
    """An invoice of the EVM rail with its live state and how far the EVM indexer has read."""

    invoice: Invoice
    state: State
    instructions: evm.PaymentInstructions
    as_of_block: int | None  # the newest block the EVM indexer verified (None: not read yet, not "unpaid")
    confirmations: int


def _terms(inv: Invoice) -> Terms:
    return Terms(inv.amount, inv.mint, inv.destination, inv.expires_at, {inv.destination: inv.mint})


def _transfers(inv: Invoice, got: evm.InvoicePayments, times: dict[int, int]) -> list[Transfer]:
    return [
        Transfer(
            signature=p.tx_hash, ix_path=str(p.log_index), slot=p.block_number, block_time=times.get(p.block_number),
            kind="transfer", mint=inv.mint, amount=p.amount, source_owner=p.payer, destination=inv.destination,
            failed=False, status=FINALIZED if p.confirmations >= got.confirmations_required else CONFIRMED,
        )  # fmt: skip
        for p in got.seen
    ]


def _times(rail: evm.Rail, inv: Invoice, got: evm.InvoicePayments, now: int, strict: bool) -> dict[int, int]:
    """Block times of the payments, read only when one can be late (the invoice has expired)."""
    if now <= inv.expires_at or not got.seen:
        return {}
    try:
        return evm.block_times(rail.client, [p.block_number for p in got.seen])
    except AppError as exc:
        if strict:
            raise
        log.warning("block times of invoice %s unavailable (late flags not shown): %s", inv.id, exc.message)
        return {}


def _state(
    session: Session, rail: evm.Rail, inv: Invoice, now: int, strict: bool
) -> tuple[State, evm.InvoicePayments]:
    got = evm.invoice_payments(session, rail.watch, instructions(rail, inv), rail.confirmations)
    return validator.evaluate(_terms(inv), _transfers(inv, got, _times(rail, inv, got, now, strict)), now), got


def view(session: Session, rail: evm.Rail, invoices: Sequence[Invoice], now: int) -> list[EvmInvoiceView]:
    """Live views (status computed now from the indexed ``Paid`` logs)."""
    out = []
    for inv in invoices:
        st, got = _state(session, rail, inv, now, strict=False)
        out.append(EvmInvoiceView(inv, st, got.instructions, got.indexed_to_block, rail.confirmations))
    return out


def ours(session: Session, invoice_ids: Sequence[str]) -> set[str]:
    """Which of these ``0x`` bytes32 ids name an invoice of ours."""
    refs = {reference_of(i): i for i in invoice_ids}
    found: set[str] = set()
    keys = sorted(refs)
    for i in range(0, len(keys), 500):
        q = select(Invoice.reference).where(Invoice.currency == EVM, Invoice.reference.in_(keys[i:i + 500]))
        found.update(refs[r] for r in session.scalars(q))
    return found


def payers(session: Session, rail: evm.Rail, buyer: str) -> list[str]:
    """Addresses that paid the buyer's invoices of the EVM rail (newest payment first): where refunds go."""
    invs = session.scalars(
        select(Invoice).where(Invoice.buyer == buyer, Invoice.currency == EVM)
        .where(select(InvoicePayment.signature).where(InvoicePayment.invoice_id == Invoice.id).exists())
    ).all()
    seen: list[tuple[int, int, str]] = []
    for inv in invs:
        got = evm.invoice_payments(session, rail.watch, instructions(rail, inv), rail.confirmations)
        seen.extend((p.block_number, p.log_index, p.payer) for p in got.confirmed)
    out: list[str] = []
    for _, _, payer in sorted(seen, reverse=True):
        if payer not in out:
            out.append(payer)
    return out


# --- the settlement pass -------------------------------------------------------------------------------------


def _meta(session: Session, key: str) -> int | None:
    row = session.get(AppMeta, key)
    return int(row.value) if row is not None else None


def _set_meta(session: Session, key: str, value: int) -> None:
    row = session.get(AppMeta, key)
    if row is None:
        session.add(AppMeta(key=key, value=str(value)))
    else:
        row.value = str(value)


def _candidates(session: Session, rail: evm.Rail, now: int) -> list[Invoice]:
    """Invoices whose payments may have changed: named by a log above the last pass's confirmed head (less one
    depth of slack, for a reorg that moves the indexer back), with a payment not yet money, or expiring now."""
    head = evm.indexed_to_block(session, rail.watch)
    mark = _meta(session, WATERMARK)
    after = (rail.watch.start_block - 1) if mark is None else mark - rail.confirmations
    refs = [reference_of(i) for i in evm.invoice_ids_since(session, rail.watch, after)]
    pending = select(InvoicePayment.invoice_id).where(InvoicePayment.status != FINALIZED)
    conds = [Invoice.id.in_(pending), (Invoice.status == OPEN) & (Invoice.expires_at < now)]
    if refs:
        conds.append(Invoice.reference.in_(refs))
    if head is not None:
        _set_meta(session, WATERMARK, head - rail.confirmations + 1)
    return list(session.scalars(select(Invoice).where(Invoice.currency == EVM, or_(*conds)).order_by(Invoice.id)))


def _entry(inv: Invoice, t: Transfer, currency: str) -> ledger.EntrySpec:
    fee = t.amount * inv.fee_bps // 10_000
    return ledger.EntrySpec(
        key=f"payment:{t.signature}:{t.ix_path}",
        cause="payment",
        cause_id=inv.id,
        legs=(
            ledger.debit(ledger.TREASURY, currency, t.amount),
            ledger.credit(ledger.buyer(inv.buyer), currency, t.amount - fee),
            ledger.credit(ledger.FEES, currency, fee),
        ),
        memo=f"invoice {inv.id} from {t.source_owner}" + (" (late)" if t.block_time and t.block_time > inv.expires_at
                                                         else ""),
        chain=ledger.ChainLink(t.signature, t.ix_path, t.slot),
    )


def refresh(session: Session, rail: evm.Rail, now: int) -> RefreshResult:
    """Bring stored statuses of EVM invoices up to date (a webhook event per change) and book payments at N
    confirmations (each once: ``invoice_payments.booked`` and the entry's idempotency key)."""
    result = RefreshResult([], 0)
    specs: list[ledger.EntrySpec] = []
    for inv in _candidates(session, rail, now):
        state, _ = _state(session, rail, inv, now, strict=True)
        flags = ",".join(state.flags)
        if (state.status, flags) != (inv.status, inv.flags):
            old = inv.status
            inv.status, inv.flags, inv.updated_at = state.status, flags, now
            result.changed.append((inv.id, old, state.status))
            webhooks.enqueue_invoice_event(session, inv, old, state, now)
        rows = {(p.signature, p.ix_path): p
                for p in session.scalars(select(InvoicePayment).where(InvoicePayment.invoice_id == inv.id))}
        current = set()
        for c in state.transfers:
            t = c.transfer
            key = (t.signature, t.ix_path)
            current.add(key)
            row = rows.get(key)
            if row is None:
                row = InvoicePayment(signature=t.signature, ix_path=t.ix_path, invoice_id=inv.id, status=t.status,
                                     outcome=c.outcome, booked=False)
                session.add(row)
            row.status, row.outcome = t.status, c.outcome
            if t.status == FINALIZED and c.outcome == CREDIT and not row.booked:
                if t.amount > I64_MAX:
                    log.error("payment %s/%s of %s is above what the ledger holds; not booked", *key, t.amount)
                    continue
                specs.append(_entry(inv, t, EVM))
                row.booked = True
        for key, row in rows.items():
            if key not in current:  # a payment seen, then reorged out before it was money
                session.delete(row)
    if specs:
        ledger.post_many(session, specs, now)
        result.booked = len(specs)
    session.flush()
    return result


def parse_invoice_id(text: str) -> str:
    """A ``0x`` bytes32 invoice id from user input; ``InvalidInput`` otherwise."""
    if not isinstance(text, str) or len(text) != 66 or not text.startswith("0x"):
        raise InvalidInput(f"invoice_id {text!r} is not a bytes32 (0x + 64 hex digits)")
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        raise InvalidInput(f"invoice_id {text!r} is not a bytes32 (0x + 64 hex digits)") from None
    return text.lower()
