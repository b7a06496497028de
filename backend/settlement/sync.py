"""The settlement pass: bring the books up to the chain and the clock.

In one database transaction: invoice statuses and their finalized payments (payments domain), the payouts,
refunds and burns the indexer saw finalized, every other finalized movement of a treasury account, and the usage
records not charged yet. Every step is idempotent (entries are keyed by their cause, chain movements by
(signature, instruction)), so a pass can be repeated or interrupted at any point.

Treasury movements no cause of ours explains are still booked, so the book always matches the chain:
- into the treasury by transfer: a deposit, credited to the sender's buyer balance (minus the payment fee of the
  currency), refundable like any balance (``deposit:<signature>:<ix>``);
- into the treasury by mintTo: ``equity:minted``;
- out of the treasury: ``equity:unexplained`` (the ledger check warns about it: only the treasury key can do it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from backend.chain.treasury import Treasury
from backend.config import Settings
from backend.evm.service import Rail
from backend.ledger import service as ledger
from backend.models.indexer import FINALIZED, TokenTransfer, TransferReference
from backend.models.ledger import LedgerEntry
from backend.models.payments import Invoice
from backend.payments import evm_invoices, invoices
from backend.settlement import evm as evm_settlement
from backend.settlement import jobs, outgoing

MINTED = "equity:minted"


@dataclass
class PassResult:
    """What one pass did."""

    status_changes: int = 0
    payments_booked: int = 0
    outgoing_booked: int = 0
    other_booked: int = 0
    charges: int = 0

    def any(self) -> bool:
        return bool(self.status_changes or self.payments_booked or self.outgoing_booked or self.other_booked
                    or self.charges)  # fmt: skip


def _fee_bps(settings: Settings, currency: str) -> int:
    return invoices.fee_bps(settings, currency)


def book_other_movements(session: Session, settings: Settings, treasury: Treasury, now: int) -> int:
    """Book every finalized, successful treasury movement that no entry books yet and no booker of ours will."""
    t, r = TokenTransfer, TransferReference
    accounts = treasury.accounts
    names_invoice = (
        select(r.signature)
        .join(Invoice, Invoice.reference == r.reference)
        .where(r.signature == t.signature, r.ix_path == t.ix_path)
        .exists()
    )
    rows = (
        session.execute(
            select(t)
            .join(
                LedgerEntry, and_(LedgerEntry.signature == t.signature, LedgerEntry.ix_path == t.ix_path), isouter=True
            )
            .where(
                or_(t.source.in_(accounts), t.destination.in_(accounts)),
                t.status == FINALIZED,
                t.failed.is_(False),
                LedgerEntry.id.is_(None),
                # Transfers into the treasury naming an invoice are the payments booker's (credited or refused there).
                ~and_(t.destination.in_(accounts), names_invoice),
            )
            .order_by(t.slot, t.signature, t.ix_path)
        )
        .scalars()
        .all()
    )
    specs = []
    legs: tuple[ledger.Leg, ...]
    for tr in rows:
        amount = int(tr.amount_raw)
        link = ledger.ChainLink(tr.signature, tr.ix_path, tr.slot)
        inflow = tr.destination in accounts
        cur = treasury.by_account(tr.destination if inflow else tr.source)
        if cur is None or amount == 0:
            continue
        if inflow and tr.kind == "mintTo":
            legs = (ledger.debit(ledger.TREASURY, cur.code, amount), ledger.credit(MINTED, cur.code, amount))
            key, cause, memo = f"minted:{tr.signature}:{tr.ix_path}", "minted", "minted into the treasury"
        elif inflow and tr.source_owner:
            fee = amount * _fee_bps(settings, cur.code) // 10_000
            legs = (
                ledger.debit(ledger.TREASURY, cur.code, amount),
                ledger.credit(ledger.buyer(tr.source_owner), cur.code, amount - fee),
                ledger.credit(ledger.FEES, cur.code, fee),
            )
            key, cause, memo = f"deposit:{tr.signature}:{tr.ix_path}", "deposit", f"deposit from {tr.source_owner}"
        else:
            legs = (
                ledger.debit(ledger.UNEXPLAINED, cur.code, amount),
                ledger.credit(ledger.TREASURY, cur.code, amount),
            )
            if inflow:  # an inflow with no sender to credit (never seen in practice): keep it visible
                legs = (
                    ledger.debit(ledger.TREASURY, cur.code, amount),
                    ledger.credit(ledger.UNEXPLAINED, cur.code, amount),
                )
            key, cause, memo = f"unexplained:{tr.signature}:{tr.ix_path}", "unexplained", f"{tr.kind} not ours"
        specs.append(ledger.EntrySpec(key, cause, f"{tr.signature}:{tr.ix_path}", legs, memo=memo, chain=link))
    if specs:
        ledger.post_many(session, specs, now)
    return len(specs)


def run_pass(
    session: Session, settings: Settings, treasury: Treasury, now: int, *, meter: bool = True,
    evm: Rail | None = None,
) -> PassResult:
    """One settlement pass (the caller commits); ``evm``: the EVM rail too (its invoices and treasury flows)."""
    result = PassResult()
    refreshed = invoices.refresh(session, treasury, now)
    result.status_changes, result.payments_booked = len(refreshed.changed), refreshed.booked
    result.outgoing_booked = outgoing.book_finalized(session, treasury, now)
    result.other_booked = book_other_movements(session, settings, treasury, now)
    if evm is not None:
        refreshed = evm_invoices.refresh(session, evm, now)
        result.status_changes += len(refreshed.changed)
        result.payments_booked += refreshed.booked
        result.other_booked += evm_settlement.book_flows(session, evm, now)
    if meter:
        result.charges = jobs.meter(session, now)
    session.flush()
    return result
