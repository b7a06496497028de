"""Our payment validator: a pure function from an invoice's terms and the transfers naming its reference to the
invoice's status, what is credited, and what is flagged. No I/O.

The transfers are the indexer's rows: every SPL transfer instruction of every transaction naming the reference
(top-level and inner, legacy and version-0 transactions with lookup tables), each with its mint, destination,
status (``confirmed`` or ``finalized``) and whether its transaction failed. The rules:

- a failed transaction credits nothing (it moved nothing);
- a transfer into the invoice's treasury account (hence of its mint) is credited: ``confirmed`` ones count toward
  ``seen``, ``finalized`` ones toward ``paid``; one with a block time after expiry is still credited and flags the
  invoice ``late``;
- a transfer of another mint into another treasury account is credited nothing on the invoice and flags it
  ``wrong_mint``; it is booked to the buyer's balance in that currency, so it is refundable;
- anything else naming the reference (not into a treasury account, e.g. out of it) is ignored.

Status (finalized amounts decide money; confirmed ones only show progress):
``paid`` / ``overpaid`` when finalized credits reach / exceed the amount; else ``seen`` when confirmed-or-finalized
credits reach it; else ``partially_paid`` when anything is credited; else ``expired`` after expiry; else ``open``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from backend.models.indexer import CONFIRMED, FINALIZED
from backend.models.payments import EXPIRED, OPEN, OVERPAID, PAID, PARTIALLY_PAID, SEEN

CREDIT, WRONG_MINT, IGNORED_FAILED, IGNORED_NOT_TREASURY = "credit", "wrong_mint", "failed", "not_to_treasury"
LATE = "late"
TRANSFER_KINDS = frozenset({"transfer", "transferChecked"})


@dataclass(frozen=True)
class Terms:
    """What an invoice asks: ``amount`` base units of ``mint`` into ``destination``, by ``expires_at``."""

    amount: int
    mint: str
    destination: str
    expires_at: int
    #: Every treasury token account -> its mint (the invoice's own included).
    treasury_accounts: Mapping[str, str]


@dataclass(frozen=True)
class Transfer:
    """One indexed transfer naming the reference."""

    signature: str
    ix_path: str
    slot: int
    block_time: int | None
    kind: str
    mint: str | None
    amount: int
    source_owner: str | None
    destination: str
    failed: bool
    status: str  # confirmed | finalized


@dataclass(frozen=True)
class Classified:
    """A transfer and what the validator made of it."""

    transfer: Transfer
    outcome: str  # credit | wrong_mint | failed | not_to_treasury
    late: bool
    mint: str | None  # the mint it moved (from the destination when the row lacks it)


@dataclass
class State:
    """The invoice as the transfers say."""

    status: str
    flags: list[str]
    paid: int  # finalized credits
    pending: int  # confirmed credits not finalized yet
    excess: int  # finalized credits above the amount
    transfers: list[Classified] = field(default_factory=list)


def classify(terms: Terms, t: Transfer) -> Classified:
    """What one transfer does to the invoice."""
    mint = t.mint or terms.treasury_accounts.get(t.destination)
    late = t.block_time is not None and t.block_time > terms.expires_at
    if t.failed:
        return Classified(t, IGNORED_FAILED, late, mint)
    if t.kind not in TRANSFER_KINDS or t.destination not in terms.treasury_accounts:
        return Classified(t, IGNORED_NOT_TREASURY, late, mint)
    account_mint = terms.treasury_accounts[t.destination]
    if mint != account_mint:  # the token program forbids it; a row that says otherwise is not trusted
        return Classified(t, IGNORED_NOT_TREASURY, late, mint)
    if t.destination == terms.destination and mint == terms.mint:
        return Classified(t, CREDIT, late, mint)
    return Classified(t, WRONG_MINT, late, mint)


def evaluate(terms: Terms, transfers: Iterable[Transfer], now: int) -> State:
    """The invoice's status, flags and amounts from the transfers naming its reference, at time ``now``."""
    classified = [classify(terms, t) for t in transfers]
    paid = sum(c.transfer.amount for c in classified if c.outcome == CREDIT and c.transfer.status == FINALIZED)
    pending = sum(c.transfer.amount for c in classified if c.outcome == CREDIT and c.transfer.status == CONFIRMED)
    flags = []
    if any(c.late for c in classified if c.outcome == CREDIT):
        flags.append(LATE)
    if any(c.outcome == WRONG_MINT for c in classified):
        flags.append(WRONG_MINT)
    if paid >= terms.amount:
        status = OVERPAID if paid > terms.amount else PAID
    elif paid + pending >= terms.amount:
        status = SEEN
    elif paid + pending > 0:
        status = PARTIALLY_PAID
    elif now > terms.expires_at:
        status = EXPIRED
    else:
        status = OPEN
    return State(status, flags, paid, pending, max(0, paid - terms.amount), classified)
