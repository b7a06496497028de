"""Payouts and refunds: recorded with their plan entry (the amount leaves the balance for ``payouts_pending`` /
``refunds_pending``), then sent by :mod:`backend.settlement.outgoing` and booked at finalized. Grants (governance)
take the same path from the community treasury: ``community:fund`` -> ``community:grants_pending``."""

from __future__ import annotations

import hashlib
import secrets

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.chain.tokens import io_account
from backend.chain.treasury import Treasury
from backend.config import Settings
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ledger import service as ledger
from backend.models.settlement import FAILED, PLANNED, SettlementTransfer
from backend.settlement.jobs import InsufficientBalance

PAYOUT, REFUND, GRANT = "payout", "refund", "grant"
_PREFIX = {PAYOUT: "po_", REFUND: "rf_", GRANT: "gr_"}
PENDING = {PAYOUT: ledger.PAYOUTS_PENDING, REFUND: ledger.REFUNDS_PENDING, GRANT: ledger.GRANTS_PENDING}


def _plan(
    session: Session,
    treasury: Treasury,
    *,
    kind: str,
    owner: str,
    account: str,
    currency: str,
    amount: int,
    idempotency_key: str,
    request_hash: str | None,
    now: int,
) -> SettlementTransfer:
    cur = treasury.currency(currency)
    item = SettlementTransfer(
        id=_PREFIX[kind] + secrets.token_hex(10),
        kind=kind,
        idempotency_key=idempotency_key,
        owner=owner,
        account=account,
        currency=cur.code,
        mint=cur.mint,
        amount=amount,
        destination=str(io_account(Pubkey.from_string(owner), Pubkey.from_string(cur.mint))),
        reference=str(Keypair().pubkey()),
        request_hash=request_hash,
        status=PLANNED,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    pending = PENDING[kind]
    ledger.post(
        session,
        ledger.EntrySpec(
            key=f"{kind}:{item.id}:plan",
            cause=kind,
            cause_id=item.id,
            legs=(ledger.debit(account, cur.code, amount), ledger.credit(pending, cur.code, amount)),
            memo=f"{kind} to {owner} recorded",
        ),
        now,
    )
    return item


def threshold(settings: Settings, currency: str) -> int:
    """The smallest provider balance that is paid out."""
    return settings.payout_threshold_usdc if currency == "USDC" else settings.payout_threshold_io


def plan_payouts(session: Session, settings: Settings, treasury: Treasury, now: int) -> list[SettlementTransfer]:
    """Record a payout of the whole balance of every provider account at or above its currency's threshold."""
    planned = []
    for b in ledger.balances(session, prefix="provider:"):
        if b.currency not in treasury.currencies or b.balance < threshold(settings, b.currency):
            continue
        ledger.lock_account(session, b.account, b.currency, now)
        amount = ledger.balance(session, b.account, b.currency)  # re-read under the lock
        if amount < threshold(settings, b.currency):
            continue
        owner = b.account.split(":", 1)[1]
        item_key = f"payout:{owner}:{b.currency}:{secrets.token_hex(8)}"
        planned.append(
            _plan(
                session,
                treasury,
                kind=PAYOUT,
                owner=owner,
                account=b.account,
                currency=b.currency,
                amount=amount,
                idempotency_key=item_key,
                request_hash=None,
                now=now,
            )  # fmt: skip
        )
    return planned


def request_refund(
    session: Session,
    treasury: Treasury,
    *,
    buyer: str,
    currency: str,
    amount: int | None,
    idempotency_key: str,
    now: int,
) -> SettlementTransfer:
    """Record a refund of ``amount`` (default: the whole balance) from the buyer's balance to their wallet.

    Idempotent per (buyer, key): the same request again returns the same refund; another request under the same
    key is a :class:`Conflict`."""
    cur = treasury.currency(currency)
    if not 1 <= len(idempotency_key) <= 100:
        raise InvalidInput("Idempotency-Key: 1 to 100 characters")
    key = f"refund:{buyer}:{idempotency_key}"
    request_hash = hashlib.sha256(f"{cur.code}|{amount}".encode()).hexdigest()
    existing = session.execute(
        select(SettlementTransfer).where(SettlementTransfer.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.request_hash != request_hash:
            raise Conflict("this Idempotency-Key was used for another refund request")
        return existing
    account = ledger.buyer(buyer)
    ledger.lock_account(session, account, cur.code, now)
    have = ledger.balance(session, account, cur.code)
    want = have if amount is None else amount
    if want <= 0:
        raise InsufficientBalance(f"nothing to refund: the {cur.code} balance is {have}")
    if want > have:
        raise InsufficientBalance(f"the {cur.code} balance is {have}, the refund asks {want}")
    return _plan(
        session, treasury, kind=REFUND, owner=buyer, account=account, currency=cur.code, amount=want,
        idempotency_key=key, request_hash=request_hash, now=now,
    )  # fmt: skip


def plan_grant(
    session: Session, treasury: Treasury, *, proposal: str, recipient: str, amount: int, now: int
) -> SettlementTransfer:
    """Record the payment of a governance grant from the community treasury (once per proposal: the same call
    again returns the live transfer; after a failed one, a new one is recorded)."""
    if treasury.grants is None:
        from backend.chain.treasury import TreasuryNotConfigured

        raise TreasuryNotConfigured("no community (grants) treasury: run `iog localnet bootstrap` with --epochs")
    live = session.execute(
        select(SettlementTransfer).where(
            SettlementTransfer.kind == GRANT,
            SettlementTransfer.account == ledger.COMMUNITY_FUND,
            SettlementTransfer.idempotency_key.startswith(f"grant:{proposal}:", autoescape=True),
            SettlementTransfer.status != FAILED,
        )
    ).scalar_one_or_none()
    if live is not None:
        return live
    attempt = session.execute(
        select(func.count()).select_from(SettlementTransfer).where(
            SettlementTransfer.idempotency_key.startswith(f"grant:{proposal}:", autoescape=True)
        )
    ).scalar_one()
    return _plan(
        session, treasury, kind=GRANT, owner=recipient, account=ledger.COMMUNITY_FUND, currency="IO", amount=amount,
        idempotency_key=f"grant:{proposal}:{attempt}", request_hash=None, now=now,
    )  # fmt: skip


def get(session: Session, item_id: str, kind: str) -> SettlementTransfer:
    """A payout or refund by id; ``NotFound`` otherwise."""
    item = session.get(SettlementTransfer, item_id) if len(item_id) <= 40 else None
    if item is None or item.kind != kind:
        raise NotFound(f"no {kind} {item_id!r}")
    return item


def list_for(session: Session, owner: str, kind: str, limit: int = 50) -> list[SettlementTransfer]:
    """An owner's payouts or refunds, newest first."""
    q = (
        select(SettlementTransfer)
        .where(SettlementTransfer.owner == owner, SettlementTransfer.kind == kind)
        .order_by(SettlementTransfer.created_at.desc(), SettlementTransfer.id)
        .limit(limit)
    )
    return list(session.execute(q).scalars())
