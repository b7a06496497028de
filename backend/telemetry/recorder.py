"""Recording a batch of heartbeats: checks, the replay guard, uptime bitmaps, continuous uptime, challenges.

One bad item never rejects the others and a rejected item changes nothing. Checks, in order: ``malformed``,
``bad_signature`` (no database needed), ``unknown_node`` (no registry record), ``inactive_node`` (not registered
on chain, deactivated, or another operator), ``clock_skew`` (``|ts - received_at|`` above the limit, or ``ts`` in
an epoch already frozen or before genesis), ``replayed_seq`` (seq not above the node's last accepted seq),
``rate_limited`` (ts not at least the minimum interval after the last accepted ts), ``gpu_mismatch`` (model or
units differ from the registered ones).

Concurrency: the node rows (``node_telemetry``) are locked (``FOR UPDATE``, in key order) before uptime is read
and written, so two requests for one node serialize; on SQLite the transaction takes the write lock first.
Two concurrent *first* heartbeats of a brand-new node both pass the replay guard (there is no row to lock yet);
both then set the same minute, which is idempotent.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.epochs.clock import EpochClock, epoch_clock
from backend.epochs.sources import NodeIdentity, node_identities
from backend.models.telemetry import (
    EXPIRED,
    FAILED,
    ISSUED,
    PASSED,
    SCHEDULED,
    Challenge,
    EpochUptime,
    NodeTelemetry,
)
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
        )


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _upsert(session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = _insert(session)(table)
    cols = [c for c in rows[0] if c not in keys]
    session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in cols}), rows
    )


def _lock_states(session: Session, nodes: list[str]) -> dict[str, dict[str, Any]]:
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock now: a read-then-write transaction that another writer overtook would fail.
        session.execute(text("UPDATE node_telemetry SET last_seq = last_seq WHERE 0"))
    t = NodeTelemetry.__table__
    rows = session.execute(select(t).where(t.c.node_key.in_(sorted(nodes))).order_by(t.c.node_key).with_for_update())
    return {r.node_key: dict(r._mapping) for r in rows}


def _result(status: str, reason: str | None = None) -> dict[str, Any]:
    metrics.HEARTBEATS.labels(result=reason or status).inc()
    return {"status": status, "reason": reason} if reason else {"status": status}


def _offer(ch: Challenge) -> dict[str, Any]:
    return {"id": ch.id, "nonce": ch.nonce, "difficulty": ch.difficulty, "deadline": ch.deadline}


class _Batch:
    """The rows one batch reads and writes."""

    def __init__(self, session: Session, rules: HeartbeatRules, received_at: int) -> None:
        self.session = session
        self.rules = rules
        self.now = received_at
        self.states: dict[str, dict[str, Any]] = {}
        self.uptime: dict[tuple[str, int], dict[str, Any]] = {}
        self.challenges: dict[tuple[str, int], list[Challenge]] = defaultdict(list)
        self.by_id: dict[str, Challenge] = {}
        self.changed_states: set[str] = set()
        self.changed_uptime: set[tuple[str, int]] = set()

    def load(self, beats: list[tuple[int, Heartbeat, NodeIdentity]]) -> None:
        nodes = sorted({hb.node for _, hb, _ in beats})
        self.states = _lock_states(self.session, nodes)
        clock = self.rules.clock
        epochs = sorted({clock.epoch_at(hb.ts) for _, hb, _ in beats})
        t = EpochUptime.__table__
        for r in self.session.execute(select(t).where(t.c.node_key.in_(nodes), t.c.epoch.in_(epochs))):
            row = dict(r._mapping)
            row["minutes"] = bytearray(row["minutes"])
            self.uptime[(r.node_key, r.epoch)] = row
        q = select(Challenge).where(Challenge.node_key.in_(nodes), Challenge.epoch.in_(epochs))
        answer_ids = [hb.answer.id for _, hb, _ in beats if hb.answer is not None]
        found = list(self.session.scalars(q))
        if answer_ids:
            found += list(self.session.scalars(select(Challenge).where(Challenge.id.in_(answer_ids))))
        for ch in found:
            if ch.id not in self.by_id:
                self.by_id[ch.id] = ch
                self.challenges[(ch.node_key, ch.epoch)].append(ch)

    def accept(self, hb: Heartbeat, ident: NodeIdentity) -> dict[str, Any] | None:
        """Apply an item that passed the stateless checks; None when it is accepted (else the rejection)."""
        st = self.states.get(hb.node)
        if st is not None and hb.seq <= st["last_seq"]:
            return _result("rejected", "replayed_seq")
        if st is not None and hb.ts < st["last_ts"] + self.rules.min_interval:
            return _result("rejected", "rate_limited")
        if hb.gpu_model != ident.gpu_model or hb.gpu_units != ident.gpu_units:
            return _result("rejected", "gpu_mismatch")
        clock = self.rules.clock
        minute, epoch = clock.minute_at(hb.ts), clock.epoch_at(hb.ts)
        last, streak = uptime.advance(
            st["last_minute"] if st else None, st["streak_minutes"] if st else 0, minute, self.rules.max_gap
        )
        self.states[hb.node] = {
            "node_key": hb.node,
            "last_seq": hb.seq,
            "last_ts": hb.ts,
            "last_received_at": self.now,
            "last_minute": last,
            "streak_minutes": streak,
            "gpu_model": hb.gpu_model,
            "gpu_units": hb.gpu_units,
        }
        self.changed_states.add(hb.node)
        key = (hb.node, epoch)
        row = self.uptime.get(key)
        if row is None:
            row = {
                "node_key": hb.node,
                "epoch": epoch,
                "minutes": bytearray(uptime.bitmap_size(clock.minutes)),
                "up_minutes": 0,
                "last_minute": minute,
                "streak_minutes": streak,
            }
            self.uptime[key] = row
        if uptime.set_minute(row["minutes"], minute - epoch * clock.minutes):
            row["up_minutes"] += 1
        if minute >= row["last_minute"]:
            row["last_minute"], row["streak_minutes"] = minute, streak
        self.changed_uptime.add(key)
        return None

    def challenge_step(self, hb: Heartbeat, ident: NodeIdentity, out: dict[str, Any]) -> None:
        """Check a carried answer; schedule, issue or hand out again the epoch's challenge."""
        rules, now = self.rules, self.now
        if hb.answer is not None:
            ch = self.by_id.get(hb.answer.id)
            if ch is None or ch.node_key != hb.node:
                out["challenge_result"] = "unknown"
            elif ch.status == ISSUED:
                if now > (ch.deadline or 0):
                    ch.status = EXPIRED
                else:
                    ok = rules.verifier.check(ch.nonce or "", ch.difficulty or 0, hb.node, hb.answer.solution)
                    ch.status = PASSED if ok else FAILED
                ch.answered_at = now
                out["challenge_result"] = ch.status
            else:
                out["challenge_result"] = ch.status
        clock = rules.clock
        epoch = clock.epoch_at(hb.ts)
        mine = self.challenges[(hb.node, epoch)]
        if not mine:
            minute = clock.minute_at(hb.ts)
            remaining = (epoch + 1) * clock.minutes - minute
            issue_at = clock.genesis + 60 * (minute + _rng.randrange(remaining))
            ch = Challenge(
                id=secrets.token_hex(16),
                node_key=hb.node,
                epoch=epoch,
                issue_at=issue_at,
                status=SCHEDULED,
                verifier=rules.verifier.name,
            )
            self.session.add(ch)
            mine.append(ch)
            self.by_id[ch.id] = ch
        for ch in mine:
            if ch.status == SCHEDULED and now >= ch.issue_at:
                ch.nonce, ch.difficulty = rules.verifier.issue(hb.node, ident.gpu_units)
                ch.issued_at = now
                ch.deadline = min(now + rules.answer_seconds, clock.frozen_at(epoch))
                ch.status = ISSUED
            if ch.status == ISSUED and now <= (ch.deadline or 0):
                out["challenge"] = _offer(ch)  # handed out again until answered, in case an answer was lost

    def write(self) -> None:
        _upsert(
            self.session, NodeTelemetry.__table__, ["node_key"], [self.states[n] for n in sorted(self.changed_states)]
        )
        rows = []
        for key in sorted(self.changed_uptime):
            row = dict(self.uptime[key])
            row["minutes"] = bytes(row["minutes"])
            rows.append(row)
        _upsert(self.session, EpochUptime.__table__, ["node_key", "epoch"], rows)
        self.session.flush()


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
    idents = node_identities(session, {hb.node for _, hb in parsed}) if parsed else {}
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
