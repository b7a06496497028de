"""Scheduled jobs of the nodes domain (idempotent; the caller owns the transaction):

- :func:`sync_registry`: every registry record to the status the finalized NodeRegistered events give.
- :func:`refresh_node_stats`: the marketplace's ``node_stats`` from the indexer's finalized projections and
  events, the registry and the epoch runner's figures. A few set-wide statements whatever the number of nodes
  (no per-node query); the rows are computed in Python with exact integers (the u64 products of the delegation
  room would overflow SQLite's integers) and only rows whose values changed are written.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope, snapshot_reads
from backend.models.nodes import NodeStat
from backend.money import BPS
from backend.nodes import repository as repo
from backend.nodes import rules, score
from backend.nodes.performance import Performance, estimated_apy_bps, node_performance
from backend.nodes.service import as_of_slot, sync_statuses
from backend.staking.service import commission_at

NO_DATA = -1  # sort key of a missing metric (sorts after every real value in a descending listing)
CHUNK = 5_000


def sync_registry(session: Session, now: int) -> int:
    """Registry statuses from the finalized events; returns how many records changed."""
    return sync_statuses(session, repo.all_records(session), now)


@dataclass(frozen=True)
class RefreshResult:
    nodes: int
    inserted: int
    updated: int
    deleted: int
    as_of_slot: int | None


def _slashes(session: Session) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "reason": None, "slot": None, "at": None})
    for node, slot, block_time, fields in repo.slash_events(session):
        s = out[node]
        s["count"] += 1
        try:
            s["reason"] = int(json.loads(fields or "{}")["reason"])
        except (KeyError, TypeError, ValueError):
            s["reason"] = None
        s["slot"], s["at"] = slot, block_time
    return out


def compute_rows(session: Session, settings: Settings, now: int) -> list[dict[str, Any]]:
    """Every node's stats row (without ``changed_at``), from a fixed number of queries."""
    params = repo.latest_config_params(session)
    min_per_gpu = int(params["minStakePerGpu"]) if params else None
    cap_bps = int(params["maxDelegationBps"]) if params else 0
    nodes = repo.stats_inputs_nodes(session)
    regs = repo.registrations(session)
    delegators = repo.delegator_counts(session)
    slashes = _slashes(session)
    keys = [regs[n.node].node_key for n in nodes if n.node in regs]
    perf = node_performance(session, keys, now, settings)
    rows, inputs = [], []
    no_perf, no_slash = Performance(), {"count": 0, "reason": None, "slot": None, "at": None}
    for n in nodes:
        reg = regs.get(n.node)
        gpu_units = reg.gpu_units if reg else None
        op_stake = int(n.operator_bonded or 0)
        total = int(n.total_stake)
        min_op = min_per_gpu * gpu_units if min_per_gpu is not None and gpu_units is not None else None
        room = 0
        if min_per_gpu is not None:
            room = rules.delegation_room(total, op_stake, bool(n.active), gpu_units, min_per_gpu, cap_bps)
        current, pending = commission_at(n.commission_bps, n.pending_commission_bps, n.commission_effective_at, now)
        ceiling = max(current, pending or 0) if current is not None else None
        p = perf.get(reg.node_key, no_perf) if reg else no_perf
        apy = estimated_apy_bps(p.payouts_7d, total, current)
        sl = slashes.get(n.node, no_slash)
        registered_at = reg.block_time if reg else None
        rows.append(
            {
                "node": n.node,
                "node_key": reg.node_key if reg else n.node_key,
                "operator": n.operator,
                "name": n.name,
                "gpu_model": n.gpu_model,
                "vram_gb": n.vram_gb,
                "region": n.region,
                "record_status": n.record_status,
                "gpu_units": gpu_units,
                "active": bool(n.active),
                "registered_at": registered_at,
                "total_stake": total,
                "operator_stake": op_stake,
                "delegated_stake": max(0, total - op_stake),
                "unbonding_stake": int(n.unbonding_stake),
                "min_operator_stake": min_op,
                "capacity_left": room,
                "commission_bps": current,
                "pending_commission_bps": pending,
                "commission_effective_at": n.commission_effective_at if pending is not None else None,
                "commission_key": ceiling if ceiling is not None else BPS + 1,
                "slash_count": sl["count"],
                "slashed_total": int(n.slashed_total),
                "last_slash_reason": sl["reason"],
                "last_slash_slot": sl["slot"],
                "last_slash_at": sl["at"],
                "delegator_count": delegators.get(n.node, 0),
                "uptime_24h_bps": p.uptime_24h_bps,
                "uptime_7d_bps": p.uptime_7d_bps,
                "uptime_30d_bps": p.uptime_30d_bps,
                "uptime_key": NO_DATA if p.uptime_30d_bps is None else p.uptime_30d_bps,
                "compute_7d_gpu_seconds": p.compute_7d_gpu_seconds,
                "rewards_24_epochs": p.rewards_24_epochs,
                "estimated_apy_bps": apy,
                "apy_key": NO_DATA if apy is None else apy,
                "last_slot": int(n.last_slot),
            }
        )
        inputs.append(
            score.ScoreInput(
                operator_stake=op_stake,
                min_operator_stake=min_op,
                active=bool(n.active),
                last_slash_at=sl["at"],
                slashed=sl["count"] > 0,
                commission=ceiling,
                uptime=p.uptime_30d_bps,
                age=None if registered_at is None else max(0, now - registered_at),
                compute=p.compute_7d_gpu_seconds,
            )
        )
    for row, s in zip(rows, score.score_all(inputs, now), strict=True):
        row.update(
            eligible=s.eligible,
            ineligible_reasons=",".join(s.reasons),
            score_version=score.VERSION,
            score=s.value,
            commission_component=s.ranks["commission"],
            uptime_component=s.ranks["uptime"],
            age_component=s.ranks["age"],
            compute_component=s.ranks["compute"],
        )
    return rows


@dataclass(frozen=True)
class StatsInputs:
    """What ``node_stats`` should hold: every node's row, and the finalized slot they reflect at least."""

    as_of_slot: int | None
    rows: list[dict[str, Any]]


def read_stats(session: Session, settings: Settings, now: int) -> StatsInputs:
    """Every node's stats row from the indexed state; read it in a :func:`backend.db.snapshot_reads` transaction
    so that nodes, positions and events are of one moment of the indexer's writes."""
    slot = as_of_slot(session, settings)  # read first: the rows reflect at least this slot
    return StatsInputs(slot, compute_rows(session, settings, now))


def refresh_node_stats(
    session: Session, settings: Settings, now: int, inputs: StatsInputs | None = None
) -> RefreshResult:
    """Bring ``node_stats`` up to date from ``inputs`` (read here when not given); idempotent: with nothing
    changed, no node row is written."""
    inputs = inputs or read_stats(session, settings, now)
    slot = inputs.as_of_slot
    rows = {r["node"]: r for r in inputs.rows}
    table: Table = NodeStat.__table__  # type: ignore[assignment]
    cols = [c.name for c in table.columns if c.name not in ("node", "changed_at")]
    # Compare as tuples in one column order: the cheapest way to find the rows whose values changed.
    existing = {r[0]: tuple(r[1:]) for r in session.execute(select(table.c.node, *(table.c[c] for c in cols)))}
    fresh, changed = [], []
    for k, r in rows.items():
        old = existing.get(k)
        if old is None:
            fresh.append({**r, "changed_at": now})
        elif old != tuple(r[c] for c in cols):
            changed.append({**r, "changed_at": now})
    gone = [k for k in existing if k not in rows]
    # Core executemany (the ORM's bulk insert would split the batch by which values are None).
    for i in range(0, len(fresh), CHUNK):
        session.execute(insert(table), fresh[i : i + CHUNK])
    if changed:
        values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in changed[0] if c != "node"}
        stmt = update(table).where(table.c.node == bindparam("k_node")).values(values)
        params = [{"k_node": r["node"], **{f"v_{c}": v for c, v in r.items() if c != "node"}} for r in changed]
        for i in range(0, len(params), CHUNK):
            session.execute(stmt, params[i : i + CHUNK])
    for i in range(0, len(gone), CHUNK):
        session.execute(delete(table).where(table.c.node.in_(gone[i : i + CHUNK])))
    repo.put_stats_meta(session, {"as_of_slot": slot, "refreshed_at": now})
    session.flush()
    return RefreshResult(len(rows), len(fresh), len(changed), len(gone), slot)


@lru_cache(maxsize=4)
def _factory(url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(url))


def nodes_pass(settings: Settings, now: int | None = None) -> str:
    """The scheduled job: registry statuses, then node_stats from one snapshot of the indexed state (its reads of
    nodes, positions and events see one moment of the indexer's writes); a one-line summary."""
    factory = _factory(settings.resolved_database_url)
    at = int(time.time()) if now is None else now
    with session_scope(factory) as session:
        records = sync_registry(session, at)
    with session_scope(factory) as session:  # read from one snapshot, then write (SQLite refuses a write from a
        snapshot_reads(session)  # read snapshot that a concurrent commit made stale, so they are two transactions)
        inputs = read_stats(session, settings, at)
    with session_scope(factory) as session:
        r = refresh_node_stats(session, settings, at, inputs)
    return (
        f"registry: {records} status change(s); node_stats: {r.nodes} node(s), {r.inserted} new, {r.updated} "
        f"changed, {r.deleted} removed, as of finalized slot {r.as_of_slot}"
    )
