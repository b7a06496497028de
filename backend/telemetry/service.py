"""Telemetry reads and writes other parts use: usage records (recorded once per (job, period start), read by the
epoch runner and by metering) and what heartbeats and challenges left per epoch (uptime, continuous uptime,
verified)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.epochs.clock import EpochClock
from backend.models.telemetry import PASSED, Challenge, EpochUptime, UsageRecord
from backend.telemetry import uptime
from backend.telemetry.schemas import UsageIn, UsageResult

#: At most this many GPUs per node (the program's gpu_units is a u16 >= 1).
MAX_GPU_UNITS = 65_535


def _check(r: UsageIn) -> str | None:
    from solders.pubkey import Pubkey

    try:
        if str(Pubkey.from_string(r.node)) != r.node:
            return "malformed: node is not a canonical base58 public key"
    except ValueError:
        return "malformed: node is not a base58 public key"
    if r.period_end <= r.period_start:
        return "malformed: period_end must be after period_start"
    if r.gpu_seconds > (r.period_end - r.period_start) * MAX_GPU_UNITS:
        return "implausible: more GPU-seconds than 65535 GPUs deliver in the period"
    return None


def record_usage(session: Session, records: Sequence[UsageIn], source: str, now: int) -> list[UsageResult]:
    """Insert each valid record unless its (job, period start) exists; a resent identical record is a
    ``duplicate`` (nothing changes), a different one under the same key is ``rejected`` (conflict)."""
    results: list[UsageResult | None] = [None] * len(records)
    rows = []
    for i, r in enumerate(records):
        reason = _check(r)
        if reason:
            results[i] = UsageResult(status="rejected", reason=reason)
        else:
            rows.append((i, r))
    keys = {(r.job_id, r.period_start) for _, r in rows}
    existing = {}
    if keys:
        jobs = {k[0] for k in keys}
        for row in session.execute(select(UsageRecord).where(UsageRecord.job_id.in_(jobs))).scalars():
            existing[(row.job_id, row.period_start)] = row
    fresh: dict[tuple[str, int], UsageIn] = {}
    for i, r in rows:
        key = (r.job_id, r.period_start)
        prior: UsageRecord | UsageIn | None = existing.get(key) or fresh.get(key)
        if prior is not None:
            same = (r.node, r.gpu_seconds, r.period_end) == (prior.node, prior.gpu_seconds, prior.period_end)
            results[i] = (
                UsageResult(status="duplicate")
                if same
                else UsageResult(status="rejected", reason="conflict: another record exists for this job and period")
            )
            continue
        fresh[key] = r
        results[i] = UsageResult(status="recorded")
    if fresh:
        values = [
            {
                "job_id": r.job_id,
                "period_start": r.period_start,
                "period_end": r.period_end,
                "node": r.node,
                "gpu_seconds": r.gpu_seconds,
                "recorded_at": now,
                "source": source,
            }
            for r in fresh.values()
        ]
        # ON CONFLICT DO NOTHING: a concurrent request with the same key cannot make this one fail.
        dialect = session.get_bind().dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(UsageRecord)
        session.execute(insert.values(values).on_conflict_do_nothing())
    return [r for r in results if r is not None]


def usage_records(
    session: Session,
    *,
    job_id: str | None = None,
    node: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[UsageRecord]:
    """Records by job and/or node whose period starts in [start, end), oldest first."""
    q = select(UsageRecord)
    if job_id is not None:
        q = q.where(UsageRecord.job_id == job_id)
    if node is not None:
        q = q.where(UsageRecord.node == node)
    if start is not None:
        q = q.where(UsageRecord.period_start >= start)
    if end is not None:
        q = q.where(UsageRecord.period_start < end)
    return list(session.execute(q.order_by(UsageRecord.period_start, UsageRecord.job_id)).scalars())


def gpu_seconds_by_node(session: Session, start: int, end: int) -> dict[str, int]:
    """GPU-seconds per node of records whose period starts in [start, end)."""
    rows = session.execute(
        select(UsageRecord.node, func.sum(UsageRecord.gpu_seconds))
        .where(UsageRecord.period_start >= start, UsageRecord.period_start < end)
        .group_by(UsageRecord.node)
    )
    return {node: int(total) for node, total in rows}


# --- heartbeats: what the epoch runner and node stats read ------------------------------------------------


def epoch_uptime(session: Session, clock: EpochClock, epoch: int, max_gap: int) -> dict[str, tuple[int, int]]:
    """Per node key with any heartbeat near the epoch: (uptime seconds in the epoch, continuous uptime seconds at
    the epoch's end).

    Continuous uptime comes from the node's newest uptime row at or before the epoch (a run may have started
    epochs earlier and still be alive at this epoch's end if the node was last up no more than ``max_gap``
    minutes before it).
    """
    end_minute = clock.minute_at(clock.end(epoch))
    lookback = max_gap // clock.minutes + 1  # epochs that can hold a run still alive at the end
    t = EpochUptime.__table__
    rows = session.execute(
        select(t.c.node_key, t.c.epoch, t.c.up_minutes, t.c.last_minute, t.c.streak_minutes)
        .where(t.c.epoch <= epoch, t.c.epoch >= epoch - lookback)
        .order_by(t.c.epoch)
    )
    out: dict[str, tuple[int, int]] = {}
    for node_key, row_epoch, up, last_minute, streak in rows:  # ascending: the newest row wins
        up_seconds = 60 * up if row_epoch == epoch else 0
        out[node_key] = (up_seconds, uptime.continuous_seconds_at(last_minute, streak, end_minute, max_gap))
    return out


def verified_nodes(session: Session, epoch: int) -> set[str]:
    """Node keys whose every challenge of the epoch passed (at least one challenge)."""
    rows = session.execute(
        select(Challenge.node_key, func.count(), func.sum(case((Challenge.status == PASSED, 1), else_=0)))
        .where(Challenge.epoch == epoch)
        .group_by(Challenge.node_key)
    )
    return {node for node, n, passed in rows if n and n == passed}


def up_seconds_by_node(
    session: Session, node_keys: Sequence[str], first_epoch: int, last_epoch: int
) -> dict[str, int]:
    """Seconds up per node key over epochs ``first_epoch .. last_epoch``."""
    if not node_keys:
        return {}
    t = EpochUptime.__table__
    rows = session.execute(
        select(t.c.node_key, func.sum(t.c.up_minutes))
        .where(t.c.node_key.in_(list(node_keys)), t.c.epoch >= first_epoch, t.c.epoch <= last_epoch)
        .group_by(t.c.node_key)
    )
    return {node: 60 * int(minutes or 0) for node, minutes in rows}
