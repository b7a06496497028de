"""The burn: each epoch a share of IO fee income is burned from the treasury's IO account.

Cumulative, so it is exact and self-healing: the burn of an epoch is ``share * (IO fee income booked so far) //
10000`` minus everything already burned or on its way (failed burns excluded). A failed burn's amount is therefore
burned by the next epoch's. Only IO fee income is burned: fee income in USDC would first have to buy IO on a
market (io.net's buy-back), which this deployment has no market for; it stays in ``fees``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.chain.treasury import IO, Treasury
from backend.config import Settings
from backend.ledger import service as ledger
from backend.models.ledger import LedgerAccount, LedgerEntry, LedgerPosting
from backend.models.settlement import FAILED, PLANNED, Burn
from backend.money import BPS


def fee_income(session: Session, currency: str) -> int:
    """Fee income ever booked in ``currency``: credits to ``fees`` by every cause but the burn."""
    total = session.execute(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(LedgerAccount.name == ledger.FEES, LedgerAccount.currency == currency, LedgerEntry.cause != "burn")
    ).scalar_one()
    return -int(total)


def burned_or_pending(session: Session, currency: str) -> int:
    """Amount of every burn that has not failed."""
    total = session.execute(
        select(func.coalesce(func.sum(Burn.amount), 0)).where(Burn.currency == currency, Burn.status != FAILED)
    ).scalar_one()
    return int(total)


def epoch_of(settings: Settings, now: int) -> int:
    """The epoch ``now`` falls in (the epoch runner's schedule; before the epoch genesis is known, periods of
    ``IOG_EPOCH_SECONDS`` since the unix epoch)."""
    from backend.epochs.clock import GenesisUnknown, epoch_clock

    try:
        return epoch_clock(settings).epoch_at(now)
    except GenesisUnknown:
        return now // settings.epoch_seconds


def plan_burn(session: Session, settings: Settings, treasury: Treasury, epoch: int, now: int) -> Burn | None:
    """Record the burn of ``epoch`` (``burn:<epoch>:plan``: fees -> burn_pending); the existing one if it was
    recorded before; None when there is nothing to burn."""
    existing = session.get(Burn, epoch)
    if existing is not None:
        return existing
    cur = treasury.currency(IO)
    ledger.lock_account(session, ledger.FEES, cur.code, now)
    target = fee_income(session, cur.code) * settings.burn_share_bps // BPS
    amount = min(target - burned_or_pending(session, cur.code), ledger.balance(session, ledger.FEES, cur.code))
    if amount <= 0:
        return None
    burn = Burn(
        epoch=epoch, currency=cur.code, mint=cur.mint, amount=amount, status=PLANNED, created_at=now, updated_at=now
    )
    session.add(burn)
    session.flush()
    ledger.post(
        session,
        ledger.EntrySpec(
            key=f"burn:{epoch}:plan",
            cause="burn",
            cause_id=str(epoch),
            legs=(ledger.debit(ledger.FEES, cur.code, amount), ledger.credit(ledger.BURN_PENDING, cur.code, amount)),
            memo=f"burn of epoch {epoch} recorded",
        ),
        now,
    )
    return burn
