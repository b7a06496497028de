"""Recording a batch of heartbeats: checks, the replay guard, uptime bitmaps, continuous uptime, challenges.

One bad item never rejects the others and a rejected item changes nothing. Checks, in order: ``malformed``,
``bad_signature`` (no database needed), ``unknown_node`` (no registry record), ``inactive_node`` (not registered
on chain, deactivated, or another operator), ``clock_skew`` (``|ts - received_at|`` above the limit, or ``ts`` in
an epoch already frozen or before genesis), ``gpu_mismatch`` (model or units differ from the registered ones),
``replayed_seq`` (seq not above the node's last accepted seq), ``rate_limited`` (ts not at least the minimum
interval after the last accepted ts).

Cost per batch (steady state): the node rows are read and locked in one query (they hold the newest epoch's
bitmap too), the batch's challenges in one, and the node rows and uptime rows written with one upsert each.
Registry and chain status of a node is kept per process for ``IOG_HEARTBEAT_NODE_CACHE_SECONDS`` (a node
deactivated on chain is refused that much later at most; an unknown node is never cached, so a node heartbeats as
soon as it is registered).

Concurrency: the node rows (``node_telemetry``) are locked (``FOR UPDATE``, in key order) before they are read
and written, so two requests for one node serialize; on SQLite the transaction takes the write lock first.
Two concurrent *first* heartbeats of a brand-new node both pass the replay guard (there is no row to lock yet);
both then set the same minute, which is idempotent.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.epochs.clock import EpochClock, epoch_clock
from backend.epochs.sources import NodeIdentity, node_identities
from backend.models.telemetry import EXPIRED, FAILED, ISSUED, PASSED, SCHEDULED, Challenge, EpochUptime, NodeTelemetry
from backend.telemetry import metrics, uptime
from backend.telemetry.challenges import PuzzleVerifier, Verifier
from backend.telemetry.heartbeats import Heartbeat, Rejected, parse

_rng = secrets.SystemRandom()


@dataclass(frozen=True)
class HeartbeatRules:
    """Everything the checks need besides the database."""

    clock: EpochClock
    max_skew: int
    min_interval: int
    max_gap: int
    answer_seconds: int
    verifier: Verifier
    node_cache_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HeartbeatRules:
        """The rules of a deployment (raises GenesisUnknown without a genesis)."""
        return cls(
            epoch_clock(settings),
            settings.heartbeat_max_skew_seconds,
            settings.heartbeat_min_interval_seconds,
            settings.uptime_max_gap_minutes,
            settings.challenge_answer_seconds,
            PuzzleVerifier(settings.challenge_difficulty_bits),
            settings.heartbeat_node_cache_seconds,
        )


_CH: Table = Challenge.__table__  # type: ignore[assignment]
_NT: Table = NodeTelemetry.__table__  # type: ignore[assignment]
_UP: Table = EpochUptime.__table__  # type: ignore[assignment]


class _IdentityCache:
    """Registry and chain status per node key, kept for a while (known nodes only)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, NodeIdentity]] = {}
        self._lock = threading.Lock()

    def lookup(self, session: Session, keys: Collection[str], ttl: float) -> dict[str, NodeIdentity]:
        if ttl <= 0:
            return node_identities(session, keys)
        now = time.monotonic()
        found: dict[str, NodeIdentity] = {}
        with self._lock:
            for k in keys:
                hit = self._data.get(k)
                if hit is not None and hit[0] > now:
                    found[k] = hit[1]
        missing = [k for k in keys if k not in found]
        if missing:
            fresh = node_identities(session, missing)
            found.update(fresh)
            with self._lock:
                if len(self._data) > 500_000:  # bounded: drop everything rather than grow without end
                    self._data.clear()
                for k, ident in fresh.items():
                    self._data[k] = (now + ttl, ident)
        return found


_identities = _IdentityCache()


#: Statements built once: building an upsert's ``excluded`` columns and the lock query costs more CPU than
#: running them (measured with py-spy on the API under single-heartbeat load).
_LOCK = (
    select(_NT)
    .where(_NT.c.node_key.in_(bindparam("keys", expanding=True)))
    .order_by(_NT.c.node_key)
    .with_for_update()
)
_CH_MUTABLE = ("status", "nonce", "difficulty", "issued_at", "deadline", "answered_at")
_CH_UPDATE = update(_CH).where(_CH.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in _CH_MUTABLE})
_SQLITE_LOCK = text("UPDATE node_telemetry SET last_seq = last_seq WHERE 0")
_upserts: dict[tuple[str, str], Any] = {}


def _upsert(session: Session, table: Any, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = _upserts.get((dialect, table.name))
    if stmt is None:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        cols = [c.name for c in table.columns if c.name not in keys]
        stmt = ins.on_conflict_do_update(index_elements=list(keys), set_={c: ins.excluded[c] for c in cols})
        _upserts[(dialect, table.name)] = stmt
    session.execute(stmt, rows)


def _lock_states(session: Session, nodes: list[str]) -> dict[str, dict[str, Any]]:
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock now: a read-then-write transaction that another writer overtook would fail.
        session.execute(_SQLITE_LOCK)
    out = {}
    for r in session.execute(_LOCK, {"keys": nodes}):
        st = dict(r._mapping)
        st["minutes"] = bytearray(st["minutes"])
        out[r.node_key] = st
    return out


def _result(status: str, reason: str | None = None) -> dict[str, Any]:
    metrics.HEARTBEATS.labels(result=reason or status).inc()
    return {"status": status, "reason": reason} if reason else {"status": status}


def _offer(ch: dict[str, Any]) -> dict[str, Any]:
    return {"id": ch["id"], "nonce": ch["nonce"], "difficulty": ch["difficulty"], "deadline": ch["deadline"]}


#: The node row's copy of its newest challenge (column in node_telemetry -> column in challenges).
_CH_COLS = {
    "ch_id": "id", "ch_epoch": "epoch", "ch_issue_at": "issue_at", "ch_status": "status", "ch_nonce": "nonce",
    "ch_difficulty": "difficulty", "ch_issued_at": "issued_at", "ch_deadline": "deadline",
}  # fmt: skip


class _Batch:
    """The rows one batch reads and writes.

    A node's newest challenge is kept on its node row too (``ch_*``), so the steady path reads one row per node;
    the ``challenges`` table is written on every change (scheduled, issued, answered) and read only for an answer
    to an older challenge.
    """

    def __init__(self, session: Session, rules: HeartbeatRules, received_at: int) -> None:
        self.session = session
        self.rules = rules
        self.now = received_at
        self.states: dict[str, dict[str, Any]] = {}
        self.older: dict[str, dict[str, Any]] = {}  # challenges answered that are no longer a node's newest
        self.touched: dict[str, dict[str, Any]] = {}  # challenge rows to write, by id
        self.fresh: set[str] = set()  # ... of which these are new
        self.changed: set[str] = set()

    def load(self, beats: list[tuple[int, Heartbeat, NodeIdentity]]) -> None:
        nodes = sorted({hb.node for _, hb, _ in beats})
        self.states = _lock_states(self.session, nodes)
        current = {st["ch_id"] for st in self.states.values()}
        older = [hb.answer.id for _, hb, _ in beats if hb.answer is not None and hb.answer.id not in current]
        if older:
            for r in self.session.execute(select(_CH).where(_CH.c.id.in_(older))):
                self.older[r.id] = dict(r._mapping)

    def accept(self, hb: Heartbeat, ident: NodeIdentity) -> dict[str, Any] | None:
        """Apply an item that passed the stateless checks; None when it is accepted (else the rejection)."""
        st = self.states.get(hb.node)
        if st is not None and hb.seq <= st["last_seq"]:
            return _result("rejected", "replayed_seq")
        if st is not None and hb.ts < st["last_ts"] + self.rules.min_interval:
            return _result("rejected", "rate_limited")
        clock = self.rules.clock
        minute, epoch = clock.minute_at(hb.ts), clock.epoch_at(hb.ts)
        last, streak = uptime.advance(
            st["last_minute"] if st else None, st["streak_minutes"] if st else 0, minute, self.rules.max_gap
        )
        if st is None or st["epoch"] != epoch:  # ts only moves forward: a new epoch starts an empty bitmap
            bitmap, up = bytearray(uptime.bitmap_size(clock.minutes)), 0
        else:
            bitmap, up = st["minutes"], st["up_minutes"]
        if uptime.set_minute(bitmap, minute - epoch * clock.minutes):
            up += 1
        new = dict(st) if st is not None else dict.fromkeys(_CH_COLS)
        new.update({
            "node_key": hb.node, "last_seq": hb.seq, "last_ts": hb.ts, "last_received_at": self.now,
            "last_minute": last, "streak_minutes": streak, "gpu_model": hb.gpu_model, "gpu_units": hb.gpu_units,
            "epoch": epoch, "minutes": bitmap, "up_minutes": up,
        })  # fmt: skip
        self.states[hb.node] = new
        self.changed.add(hb.node)
        return None

    def _touch(self, ch: dict[str, Any], st: dict[str, Any] | None = None) -> None:
        self.touched[ch["id"]] = ch
        if st is not None and st["ch_id"] == ch["id"]:
            for col, key in _CH_COLS.items():
                st[col] = ch[key]

    def _newest(self, st: dict[str, Any]) -> dict[str, Any] | None:
        if st["ch_id"] is None:
            return None
        found = self.touched.get(st["ch_id"])
        if found is not None:
            return found
        ch = {key: st[col] for col, key in _CH_COLS.items()}
        return {**ch, "node_key": st["node_key"], "verifier": self.rules.verifier.name, "answered_at": None}

    def challenge_step(self, hb: Heartbeat, ident: NodeIdentity, out: dict[str, Any]) -> None:
        """Check a carried answer; schedule, issue or hand out again the epoch's challenge."""
        rules, now, st = self.rules, self.now, self.states[hb.node]
        newest = self._newest(st)
        if hb.answer is not None:
            is_newest = newest is not None and newest["id"] == hb.answer.id
            ch = newest if is_newest else self.touched.get(hb.answer.id) or self.older.get(hb.answer.id)
            if ch is None or ch["node_key"] != hb.node:
                out["challenge_result"] = "unknown"
            elif ch["status"] == ISSUED:
                if now > (ch["deadline"] or 0):
                    ch["status"] = EXPIRED
                else:
                    ok = rules.verifier.check(ch["nonce"] or "", ch["difficulty"] or 0, hb.node, hb.answer.solution)
                    ch["status"] = PASSED if ok else FAILED
                ch["answered_at"] = now
                self._touch(ch, st)
                out["challenge_result"] = ch["status"]
            else:
                out["challenge_result"] = ch["status"]
        clock = rules.clock
        epoch = clock.epoch_at(hb.ts)
        if newest is None or newest["epoch"] != epoch:
            minute = clock.minute_at(hb.ts)
            remaining = (epoch + 1) * clock.minutes - minute
            newest = {
                "id": secrets.token_hex(16), "node_key": hb.node, "epoch": epoch,
                "issue_at": clock.genesis + 60 * (minute + _rng.randrange(remaining)), "status": SCHEDULED,
                "verifier": rules.verifier.name, "nonce": None, "difficulty": None, "issued_at": None,
                "deadline": None, "answered_at": None,
            }  # fmt: skip
            self.fresh.add(newest["id"])
            st["ch_id"] = newest["id"]
            self._touch(newest, st)
        if newest["status"] == SCHEDULED and now >= newest["issue_at"]:
            newest["nonce"], newest["difficulty"] = rules.verifier.issue(hb.node, ident.gpu_units)
            newest["issued_at"] = now
            newest["deadline"] = min(now + rules.answer_seconds, clock.frozen_at(epoch))
            newest["status"] = ISSUED
            self._touch(newest, st)
        if newest["status"] == ISSUED and now <= (newest["deadline"] or 0):
            out["challenge"] = _offer(newest)  # handed out again until answered, in case an answer was lost

    def write(self) -> None:
        states = []
        for n in sorted(self.changed):
            st = dict(self.states[n])
            st["minutes"] = bytes(st["minutes"])
            states.append(st)
        _upsert(self.session, _NT, ("node_key",), states)
        rows = [
            {"node_key": st["node_key"], "epoch": st["epoch"], "minutes": st["minutes"], "up_minutes": st["up_minutes"],
             "last_minute": st["last_minute"], "streak_minutes": st["streak_minutes"]}
            for st in states
        ]  # fmt: skip
        _upsert(self.session, _UP, ("node_key", "epoch"), rows)
        if self.fresh:
            self.session.execute(_CH.insert(), [self.touched[i] for i in sorted(self.fresh)])
        changed = [self.touched[i] for i in sorted(set(self.touched) - self.fresh)]
        if changed:
            self.session.execute(
                _CH_UPDATE, [{"b_id": ch["id"], **{f"b_{c}": ch[c] for c in _CH_MUTABLE}} for ch in changed]
            )


def record_heartbeats(session: Session, rules: HeartbeatRules, items: list[Any], received_at: int) -> list[dict]:
    """Check and record a batch of heartbeat items; one result per item, in input order.

    Returns:
        ``{"status": "accepted"}`` (plus ``challenge`` when one is handed out, ``challenge_result`` when the item
        carried an answer) or ``{"status": "rejected", "reason": ...}``.
    """
    results: list[dict[str, Any] | None] = [None] * len(items)
    parsed: list[tuple[int, Heartbeat]] = []
    for i, item in enumerate(items):
        try:
            parsed.append((i, parse(item)))
        except Rejected as r:
            results[i] = _result("rejected", r.reason)
    idents = _identities.lookup(session, {hb.node for _, hb in parsed}, rules.node_cache_seconds) if parsed else {}
    clock = rules.clock
    passing: list[tuple[int, Heartbeat, NodeIdentity]] = []
    for i, hb in parsed:
        ident = idents.get(hb.node)
        epoch = clock.epoch_at(hb.ts)
        if ident is None:
            results[i] = _result("rejected", "unknown_node")
        elif not ident.active:
            results[i] = _result("rejected", "inactive_node")
        elif abs(hb.ts - received_at) > rules.max_skew or epoch < 0 or received_at >= clock.frozen_at(epoch):
            results[i] = _result("rejected", "clock_skew")
        elif hb.gpu_model != ident.gpu_model or hb.gpu_units != ident.gpu_units:
            results[i] = _result("rejected", "gpu_mismatch")
        else:
            passing.append((i, hb, ident))
    if passing:
        batch = _Batch(session, rules, received_at)
        batch.load(passing)
        for i, hb, ident in passing:
            rejected = batch.accept(hb, ident)
            if rejected is not None:
                results[i] = rejected
                continue
            out = _result("accepted")
            batch.challenge_step(hb, ident, out)
            results[i] = out
        batch.write()
    return [r for r in results if r is not None]
