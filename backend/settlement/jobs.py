"""Jobs and metering: a job reserves its budget from the buyer's balance at start, every usage record of the job is
charged exactly once as it arrives, and what is left reserved goes back to the buyer when the job ends.

Charging is exact. For a job with price P (base units per GPU-hour), buyer fee b and provider fee p (basis
points), after S billed GPU-seconds the totals are ``C = P*S // 3600`` (compute), ``B = C*b // 10000`` and
``F = C*p // 10000``; a record's charge is the difference of the totals before and after it. So the sub-unit
remainder of each charge carries into the next one and the sum of the charges is exactly the charge of the sum:
nothing is lost and nothing invented. The buyer pays compute + buyer fee from ``buyer_reserved``; the operator
earns compute - provider fee on ``provider:<operator>``; both fees go to ``fees``.

A record is billed for at most ``(period_end - period_start) * gpu_units`` GPU-seconds and only when it names the
job's node; a job whose remaining budget cannot pay a charge is charged what is left (the largest compute whose
total with its fee fits), ends as ``budget_spent`` and the rest is noted unbilled. Only running jobs are metered:
records that arrive after a job ended are not charged (the orchestrator reports usage before it completes a job).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.chain.treasury import Treasury
from backend.config import Settings
from backend.errors import AppError, Conflict, InvalidInput, NotFound
from backend.ledger import service as ledger
from backend.models.settlement import BUDGET_SPENT, CANCELLED, COMPLETED, RUNNING, Job, UsageCharge
from backend.money import BPS
from backend.telemetry import service as telemetry

SECONDS_PER_HOUR = 3_600



class InsufficientBalance(AppError):
    """The buyer's balance does not cover the amount."""

    status_code = 409


def operator_of(session: Session, node_key: str) -> str | None:
    """The operator of a node in the registry (by device key)."""
    from backend.nodes.service import registry_by_node_key

    entry = registry_by_node_key(session, [node_key]).get(node_key)
    return entry.operator if entry is not None else None


def start(
    session: Session,
    settings: Settings,
    treasury: Treasury,
    *,
    job_id: str,
    buyer: str,
    node: str,
    currency: str,
    price_per_gpu_hour: int,
    gpu_units: int,
    budget: int,
    created_by: str,
    now: int,
) -> Job:
    """Start a job, reserving ``budget`` from the buyer's balance (``job:<id>:reserve``). Idempotent per job id:
    the same request again returns the job; different terms under the same id are a conflict."""
    cur = treasury.currency(currency)
    if not 1 <= gpu_units <= telemetry.MAX_GPU_UNITS:
        raise InvalidInput(f"gpu_units: between 1 and {telemetry.MAX_GPU_UNITS}")
    if not 1 <= len(job_id) <= 128:
        raise InvalidInput("id: 1 to 128 characters")
    existing = session.get(Job, job_id)
    terms = (buyer, node, cur.code, price_per_gpu_hour, gpu_units, budget)
    if existing is not None:
        have = (existing.buyer, existing.node, existing.currency, existing.price_per_gpu_hour, existing.gpu_units,
                existing.budget)  # fmt: skip
        if have != terms:
            raise Conflict(f"job {job_id} exists with other terms")
        return existing
    operator = operator_of(session, node)
    if operator is None:
        raise InvalidInput(f"node: {node} is not in the node registry")
    ledger.lock_account(session, ledger.buyer(buyer), cur.code, now)
    balance = ledger.balance(session, ledger.buyer(buyer), cur.code)
    if balance < budget:
        raise InsufficientBalance(f"the buyer's {cur.code} balance is {balance}, the budget {budget}")
    job = Job(
        id=job_id,
        buyer=buyer,
        node=node,
        operator=operator,
        currency=cur.code,
        price_per_gpu_hour=price_per_gpu_hour,
        gpu_units=gpu_units,
        budget=budget,
        buyer_fee_bps=settings.fee_rental_buyer_bps,
        provider_fee_bps=settings.fee_rental_provider_bps,
        status=RUNNING,
        created_by=created_by,
        created_at=now,
    )
    session.add(job)
    session.flush()
    ledger.post(
        session,
        ledger.EntrySpec(
            key=f"job:{job_id}:reserve",
            cause="job",
            cause_id=job_id,
            legs=(
                ledger.debit(ledger.buyer(buyer), cur.code, budget),
                ledger.credit(ledger.buyer_reserved(buyer), cur.code, budget),
            ),
            memo=f"budget of job {job_id}",
        ),
        now,
    )
    return job


@dataclass(frozen=True)
class Totals:
    """A job's running totals after its last charge."""

    seq: int = 0
    seconds: int = 0
    compute: int = 0
    buyer_fee: int = 0
    provider_fee: int = 0

    @property
    def gross(self) -> int:
        """What the buyer paid so far (compute + buyer fee)."""
        return self.compute + self.buyer_fee


def totals(session: Session, job_id: str) -> Totals:
    """The totals after the job's last charge."""
    last = session.execute(
        select(UsageCharge).where(UsageCharge.job_id == job_id).order_by(UsageCharge.seq.desc()).limit(1)
    ).scalar_one_or_none()
    if last is None:
        return Totals()
    return Totals(last.seq, last.total_seconds, last.total_compute, last.total_buyer_fee, last.total_provider_fee)


@dataclass(frozen=True)
class Charge:
    """One record's charge (differences of the totals) and the totals after it."""

    billed_seconds: int
    compute: int
    buyer_fee: int
    provider_fee: int
    after: Totals
    budget_spent: bool
    note: str | None


def compute_charge(job: Job, before: Totals, node: str, gpu_seconds: int, duration: int) -> Charge:
    """The charge of one usage record (pure; see the module docstring for the rules)."""
    notes = []
    billed = gpu_seconds
    if node != job.node:
        billed, notes = 0, ["record names another node: not billed"]
    cap = max(0, duration) * job.gpu_units
    if billed > cap:
        notes.append(f"capped to {job.gpu_units} GPUs over the period ({billed - cap} GPU-seconds not billed)")
        billed = cap
    seconds = before.seconds + billed
    compute = job.price_per_gpu_hour * seconds // SECONDS_PER_HOUR
    bfee = compute * job.buyer_fee_bps // BPS
    remaining = job.budget - before.gross
    spent = False
    if compute + bfee - before.gross > remaining:
        # The largest total compute whose total with its fee still fits the budget (monotone: bisect).
        lo, hi = before.compute, compute
        limit = job.budget
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if mid + mid * job.buyer_fee_bps // BPS <= limit:
                lo = mid
            else:
                hi = mid - 1
        notes.append(f"budget spent: {compute - lo} base units of compute not billed")
        compute, bfee, spent = lo, lo * job.buyer_fee_bps // BPS, True
    pfee = compute * job.provider_fee_bps // BPS
    after = Totals(before.seq + 1, seconds, compute, bfee, pfee)
    if after.gross == job.budget:
        spent = True
    return Charge(
        billed,
        compute - before.compute,
        bfee - before.buyer_fee,
        pfee - before.provider_fee,
        after,
        spent,
        "; ".join(notes) or None,
    )


def _charge_entry(job: Job, period_start: int, c: Charge) -> ledger.EntrySpec:
    cur = job.currency
    return ledger.EntrySpec(
        key=f"usage:{job.id}:{period_start}",
        cause="usage",
        cause_id=job.id,
        legs=(
            ledger.debit(ledger.buyer_reserved(job.buyer), cur, c.compute + c.buyer_fee),
            ledger.credit(ledger.provider(job.operator), cur, c.compute - c.provider_fee),
            ledger.credit(ledger.FEES, cur, c.buyer_fee + c.provider_fee),
        ),
        memo=f"usage of job {job.id} from {period_start}",
    )


def meter(session: Session, now: int) -> int:
    """Charge every usage record of a job that has none yet (exactly once per record); returns charges written."""
    jobs = list(session.execute(select(Job).where(Job.status == RUNNING).order_by(Job.created_at, Job.id)).scalars())
    charged = 0
    for job in jobs:
        done = set(session.execute(select(UsageCharge.period_start).where(UsageCharge.job_id == job.id)).scalars())
        fresh = [r for r in telemetry.usage_records(session, job_id=job.id) if r.period_start not in done]
        if not fresh:
            continue
        before = totals(session, job.id)
        for rec in fresh:
            if job.status != RUNNING:
                c = Charge(0, 0, 0, 0, before, False, f"job {job.status} before this record was charged")
            else:
                c = compute_charge(job, before, rec.node, rec.gpu_seconds, rec.period_end - rec.period_start)
            session.add(
                UsageCharge(
                    job_id=job.id,
                    period_start=rec.period_start,
                    seq=before.seq + 1,
                    gpu_seconds=rec.gpu_seconds,
                    billed_seconds=c.billed_seconds,
                    compute=c.compute,
                    buyer_fee=c.buyer_fee,
                    provider_fee=c.provider_fee,
                    total_seconds=c.after.seconds,
                    total_compute=c.after.compute,
                    total_buyer_fee=c.after.buyer_fee,
                    total_provider_fee=c.after.provider_fee,
                    note=c.note,
                    charged_at=now,
                )
            )
            before = Totals(before.seq + 1, c.after.seconds, c.after.compute, c.after.buyer_fee, c.after.provider_fee)
            if c.compute or c.buyer_fee:
                ledger.post(session, _charge_entry(job, rec.period_start, c), now)
            charged += 1
            if c.budget_spent and job.status == RUNNING:
                session.flush()
                _end(session, job, BUDGET_SPENT, now)
        session.flush()
    return charged


def _end(session: Session, job: Job, status: str, now: int) -> None:
    left = job.budget - totals(session, job.id).gross
    job.status, job.ended_at = status, now
    if left > 0:
        ledger.post(
            session,
            ledger.EntrySpec(
                key=f"job:{job.id}:release",
                cause="job",
                cause_id=job.id,
                legs=(
                    ledger.debit(ledger.buyer_reserved(job.buyer), job.currency, left),
                    ledger.credit(ledger.buyer(job.buyer), job.currency, left),
                ),
                memo=f"unused budget of job {job.id}",
            ),
            now,
        )


def end(session: Session, job_id: str, status: str, now: int) -> Job:
    """Complete or cancel a job: charge its pending usage first, then release what is left reserved. Ending an
    ended job again is a no-op (the job is returned as it is)."""
    if status not in (COMPLETED, CANCELLED):
        raise InvalidInput(f"status: {COMPLETED} or {CANCELLED}")
    job = get(session, job_id)
    if job.status != RUNNING:
        return job
    meter(session, now)
    session.refresh(job)
    if job.status == RUNNING:
        _end(session, job, status, now)
    session.flush()
    return job


def get(session: Session, job_id: str) -> Job:
    """The job ``job_id``; ``NotFound`` otherwise."""
    job = session.get(Job, job_id) if len(job_id) <= 128 else None
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    return job


def charges(session: Session, job_id: str) -> list[UsageCharge]:
    """A job's charges in order."""
    return list(
        session.execute(select(UsageCharge).where(UsageCharge.job_id == job_id).order_by(UsageCharge.seq)).scalars()
    )


def count_charges(session: Session, job_id: str) -> int:
    """How many usage records of the job were charged (or noted)."""
    return int(session.execute(select(func.count()).where(UsageCharge.job_id == job_id)).scalar_one())
