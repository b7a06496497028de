"""Settlement on the EVM rail (``USDC-EVM``): every confirmed movement of the EVM treasury booked, and refunds (and
payouts) sent by the treasury key exactly once.

Booking (:func:`book_flows`, in the settlement pass after the invoices' own bookings): the EVM indexer's confirmed
flows above the last booked block, each once by its idempotency key:
- a router payment naming an invoice of ours is the invoices' (``payment:<tx>:<log>``, booked at N confirmations);
  one naming no invoice of ours, and a plain transfer in, are credited to nothing and held for their sender:
  ``unmatched:<address>`` (``unmatched:<tx>:<log>``);
- a transfer out signed by our sender for a refund or payout books it (``refund:<id>`` / ``payout:<id>``:
  ``refunds_pending`` -> ``treasury``); any other transfer out is ``equity:unexplained`` (shown by the check).
So the book ``treasury`` of ``USDC-EVM`` at the confirmed head equals ``balanceOf(treasury)`` there.

Sending (:func:`send`): a ``settlement_transfers`` row of currency ``USDC-EVM`` (planned with its plan entry, as on
Solana) is recorded in the sender under the key ``<kind>:<id>`` (signed bytes and hash committed **before** the
first send), then :meth:`Sender.ensure_sent` settles or resends it on every pass; a reverted one is voided (the plan
entry reversed: the amount returns to the balance). After a crash anything recorded is found again by its key.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import Conflict, InvalidInput
from backend.evm import service as evm
from backend.ledger import service as ledger
from backend.models.evm import OUT_REVERTED
from backend.models.meta import AppMeta
from backend.models.settlement import FINALIZED, PLANNED, SENT, SettlementTransfer
from backend.money import I64_MAX
from backend.payments import evm_invoices
from backend.settlement.jobs import InsufficientBalance
from backend.settlement.outgoing import void_transfer

log = logging.getLogger(__name__)
EVM = evm.EVM_CURRENCY
BOOKED = "settlement.evm_booked_block"
REFUND, PAYOUT = "refund", "payout"


def _pending(kind: str) -> str:
    return ledger.PAYOUTS_PENDING if kind == PAYOUT else ledger.REFUNDS_PENDING


def book_flows(session: Session, rail: evm.Rail, now: int) -> int:
    """Book every confirmed treasury movement above the last booked block that the invoices do not book."""
    row = session.get(AppMeta, BOOKED)
    after = int(row.value) if row is not None else rail.watch.start_block - 1
    head, flows = evm.treasury_flows(session, rail.watch, rail.confirmations, after)
    if head is None or head <= after:
        return 0
    invoiced = evm_invoices.ours(session, [f.invoice_id for f in flows if f.kind == "paid" and f.invoice_id])
    keys = evm.sent_keys(session, [f.tx_hash for f in flows if f.kind == "transfer_out"])
    specs: list[ledger.EntrySpec] = []
    for f in flows:
        link = ledger.ChainLink(f.tx_hash, str(f.log_index), f.block_number)
        where = f"{f.tx_hash}:{f.log_index}"
        if f.amount > I64_MAX:
            log.error("EVM flow %s of %s is above what the ledger holds; not booked", where, f.amount)
            continue
        if f.kind == "paid" and f.invoice_id in invoiced:
            continue  # the invoice's payment: booked by payments at N confirmations
        if f.kind in ("paid", "transfer_in"):
            why = f"names invoice id {f.invoice_id}, not ours" if f.kind == "paid" else "a transfer naming no invoice"
            specs.append(ledger.EntrySpec(
                f"unmatched:{where}", "unmatched", where,
                (ledger.debit(ledger.TREASURY, EVM, f.amount), ledger.credit(ledger.unmatched(f.payer), EVM, f.amount)),
                memo=f"from {f.payer}: {why}", chain=link,
            ))
            continue
        spec = _outgoing_entry(session, keys.get(f.tx_hash), f, link, now)
        if spec is None:
            spec = ledger.EntrySpec(
                f"unexplained:{where}", "unexplained", where,
                (ledger.debit(ledger.UNEXPLAINED, EVM, f.amount), ledger.credit(ledger.TREASURY, EVM, f.amount)),
                memo=f"transfer to {f.recipient} not ours", chain=link,
            )
        specs.append(spec)
    if specs:
        ledger.post_many(session, specs, now)
    if row is None:
        session.add(AppMeta(key=BOOKED, value=str(head)))
    else:
        row.value = str(head)
    session.flush()
    return len(specs)


def _outgoing_entry(
    session: Session, key: str | None, f: evm.Flow, link: ledger.ChainLink, now: int
) -> ledger.EntrySpec | None:
    """The booking of our refund/payout whose transaction made ``f``; None when ``f`` is not ours."""
    if key is None:
        return None
    kind, _, item_id = key.partition(":")
    item = session.get(SettlementTransfer, item_id)
    if item is None or item.kind != kind or item.currency != EVM:
        log.error("transfer out %s was signed under %r, which names no EVM refund or payout", f.tx_hash, key)
        return None
    if (f.recipient, f.amount) != (item.destination, item.amount):
        log.error("transfer out %s of %s to %s does not match %s", f.tx_hash, f.amount, f.recipient, item.id)
        return None
    item.status, item.signature, item.slot, item.updated_at = FINALIZED, f.tx_hash, f.block_number, now
    return ledger.EntrySpec(
        f"{item.kind}:{item.id}", item.kind, item.id,
        (ledger.debit(_pending(item.kind), EVM, item.amount), ledger.credit(ledger.TREASURY, EVM, item.amount)),
        memo=f"{item.kind} to {item.destination}", chain=link,
    )


def request_refund(
    session: Session, rail: evm.Rail, *, buyer: str, amount: int | None, to: str | None, idempotency_key: str,
    now: int,
) -> SettlementTransfer:
    """Record a refund of ``amount`` (default: the whole balance) of the buyer's ``USDC-EVM`` balance to the address
    that paid (``to`` must be one that paid the buyer's invoices; default: the newest payer).

    Idempotent per (buyer, key) like the Solana refunds."""
    if not 1 <= len(idempotency_key) <= 100:
        raise InvalidInput("Idempotency-Key: 1 to 100 characters")
    key = f"refund:{buyer}:{idempotency_key}"
    request_hash = hashlib.sha256(f"{EVM}|{amount}|{(to or '').lower()}".encode()).hexdigest()
    existing = session.scalars(select(SettlementTransfer).where(SettlementTransfer.idempotency_key == key)).first()
    if existing is not None:
        if existing.request_hash != request_hash:
            raise Conflict("this Idempotency-Key was used for another refund request")
        return existing
    paid_from = evm_invoices.payers(session, rail, buyer)
    if to is None:
        if not paid_from:
            raise InvalidInput(f"to: no {EVM} payment of this buyer is confirmed yet to refund to")
        to = paid_from[0]
    to = to.lower()
    evm.transfer_data(rail, to, 1)  # the address is well formed
    if to not in paid_from:
        raise InvalidInput(f"to: {to} paid none of this buyer's invoices; refunds go back to a payer address")
    account = ledger.buyer(buyer)
    ledger.lock_account(session, account, EVM, now)
    have = ledger.balance(session, account, EVM)
    want = have if amount is None else amount
    if want <= 0:
        raise InsufficientBalance(f"nothing to refund: the {EVM} balance is {have}")
    if want > have:
        raise InsufficientBalance(f"the {EVM} balance is {have}, the refund asks {want}")
    return plan(session, rail, kind=REFUND, owner=buyer, account=account, to=to, amount=want, idempotency_key=key,
                request_hash=request_hash, now=now)


def plan(
    session: Session, rail: evm.Rail, *, kind: str, owner: str, account: str, to: str, amount: int,
    idempotency_key: str, request_hash: str | None, now: int,
) -> SettlementTransfer:
    """Record a refund or payout in ``USDC-EVM`` with its plan entry (``account`` -> pending)."""
    item_id = ("po_" if kind == PAYOUT else "rf_") + secrets.token_hex(10)
    item = SettlementTransfer(
        id=item_id, kind=kind, idempotency_key=idempotency_key, owner=owner, account=account, currency=EVM,
        mint=rail.watch.token, amount=amount, destination=to.lower(), reference=f"evm:{item_id}",
        request_hash=request_hash, status=PLANNED, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(item)
    session.flush()
    ledger.post(session, ledger.EntrySpec(
        key=f"{kind}:{item.id}:plan", cause=kind, cause_id=item.id,
        legs=(ledger.debit(account, EVM, amount), ledger.credit(_pending(kind), EVM, amount)),
        memo=f"{kind} to {item.destination} recorded",
    ), now)
    return item


def has_work(session: Session) -> bool:
    """True when a ``USDC-EVM`` refund or payout is planned or in flight."""
    q = select(SettlementTransfer.id).where(SettlementTransfer.currency == EVM,
                                            SettlementTransfer.status.in_((PLANNED, SENT))).limit(1)
    return session.execute(q).first() is not None


def send(factory: sessionmaker[Session], rail: evm.Rail, now: int) -> dict[str, int]:
    """Record every planned item in the sender (before anything is sent), then make sure each in flight is sent;
    void the reverted ones. Safe to repeat and to interrupt anywhere."""
    with session_scope(factory) as session:
        if not has_work(session):
            return {}
    sender = evm.treasury_sender(factory, rail)
    done = {"recorded": 0, "sent": 0, "reverted": 0}
    with session_scope(factory) as session:
        planned = list(session.scalars(
            select(SettlementTransfer).where(SettlementTransfer.currency == EVM, SettlementTransfer.status == PLANNED)
            .order_by(SettlementTransfer.created_at, SettlementTransfer.id)
        ))
        todo = [(f"{i.kind}:{i.id}", i.id, i.destination, i.amount) for i in planned]
    for key, item_id, to, amount in todo:
        token, data = evm.transfer_data(rail, to, amount)
        out = sender.record(key, token, data)  # committed (signed bytes and hash) before the first send
        with session_scope(factory) as session:
            item = session.get(SettlementTransfer, item_id)
            if item is not None and item.status == PLANNED:
                item.status, item.signature, item.updated_at = SENT, out.tx_hash, now
        done["recorded"] += 1
    with session_scope(factory) as session:
        inflight = list(session.scalars(
            select(SettlementTransfer.id).where(SettlementTransfer.currency == EVM, SettlementTransfer.status == SENT)
        ))
    for item_id in inflight:
        with session_scope(factory) as session:
            item = session.get(SettlementTransfer, item_id)
            assert item is not None
            key = f"{item.kind}:{item.id}"
        out = sender.ensure_sent(key)
        done["sent"] += 1
        with session_scope(factory) as session:
            item = session.get(SettlementTransfer, item_id)
            if item is None or item.status != SENT:
                continue
            item.signature = out.tx_hash
            if out.status == OUT_REVERTED:
                void_transfer(session, item, now, f"transaction {out.tx_hash} reverted")
                done["reverted"] += 1
    return done
