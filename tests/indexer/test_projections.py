"""Projections: unbonding entries follow the program, and the incremental path gives exactly the rows of a replay
from scratch, whatever batches the events arrive in (issue 9 part 6, issue 10 part 6)."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, select

from indexer.projections import ENTRIES, NODES, POSITIONS, apply_events, rebuild_all
from indexer.store import EVENTS
from tests.indexer.projection_rows import projection_rows

BPS = 10_000
NODE, OP, ALICE, BOB = "Node111", "Op111", "Alice111", "Bob111"


def event(slot: int, sig: str, name: str, fields: dict[str, Any], idx: int = 0) -> dict[str, Any]:
    """A finalized, decoded program event row as the decoder writes it (wide integers as strings)."""
    subject = fields.get("node") or fields.get("wallet") or fields.get("epoch")
    return {
        "signature": sig,
        "ix_path": "0",
        "event_index": idx,
        "slot": slot,
        "block_time": None,
        "program_id": "Prog111",
        "name": name,
        "subject": str(subject),
        "owner": fields.get("owner"),
        "fields": json.dumps({k: str(v) if isinstance(v, int) and k not in SMALL else v for k, v in fields.items()}),
        "raw": "",
        "error": None,
        "status": "finalized",
    }


SMALL = {"gpuUnits", "commissionBps", "slashBps", "reason", "oldBps", "newBps", "entriesPaid", "delegated"}


def deliver(conn: Connection, events: list[dict[str, Any]]) -> None:
    conn.execute(EVENTS.insert(), events)
    apply_events(conn, events)


class TestUnbondingEntries:
    def test_entries_are_paid_when_matured_and_bear_slashes_until_then(self, db_engine: Engine) -> None:
        evs = [
            event(
                1,
                "s01",
                "Staked",
                dict(node=NODE, owner=OP, amount=1000, shares=1000, delegated=False, nodeTotalStake=1000),
            ),
            event(
                2,
                "s02",
                "UnstakeRequested",
                dict(node=NODE, owner=OP, amount=100, sharesBurned=100, unlockTime=500, unbondingShares=100),
            ),
            event(
                3,
                "s03",
                "UnstakeRequested",
                dict(node=NODE, owner=OP, amount=100, sharesBurned=100, unlockTime=800, unbondingShares=100),
            ),
            event(4, "s04", "Slashed", dict(node=NODE, slashBps=1000, reason=1, amount=100)),  # 80 + 20
            event(
                5,
                "s05",
                "Withdrawn",
                dict(node=NODE, owner=OP, amount=90, unbondingShares=100, entriesPaid=1, withdrawnAt=600),
            ),
        ]
        with db_engine.begin() as conn:
            deliver(conn, evs)
            n = conn.execute(select(NODES)).one()
            p = conn.execute(select(POSITIONS)).one()
            entries = conn.execute(select(ENTRIES)).all()
        assert (n.total_stake, n.total_shares, n.unbonding_stake, n.unbonding_shares) == (720, 800, 90, 100)
        assert (p.shares, p.bonded, p.unbonding_shares, p.unbonding, p.unlock_time, p.withdrawn) == (
            800,
            720,
            100,
            90,
            800,
            90,
        )
        assert [(e.signature, e.amount, e.shares, e.value, e.unlock_time) for e in entries] == [
            ("s03", 100, 100, 90, 800)
        ]

    def test_a_position_worth_nothing_leaves_without_an_entry(self, db_engine: Engine) -> None:
        evs = [
            event(
                1, "s01", "Staked", dict(node=NODE, owner=OP, amount=10, shares=10, delegated=False, nodeTotalStake=10)
            ),
            event(
                2,
                "s02",
                "UnstakeRequested",
                dict(node=NODE, owner=OP, amount=0, sharesBurned=10, unlockTime=7, unbondingShares=0),
            ),
        ]
        with db_engine.begin() as conn:
            deliver(conn, evs)
            p = conn.execute(select(POSITIONS)).one()
            assert conn.execute(select(ENTRIES)).all() == []
        assert (p.shares, p.unbonding_shares, p.unlock_time) == (0, 0, None)

    def test_events_of_the_program_before_unbonding_entries_still_project(self, db_engine: Engine) -> None:
        # rows stored before the upgrade: UnstakeRequested without its shares, Withdrawn paying everything pending
        evs = [
            event(
                1,
                "s01",
                "Staked",
                dict(node=NODE, owner=OP, amount=1000, shares=1000, delegated=False, nodeTotalStake=1000),
            ),
            event(2, "s02", "UnstakeRequested", dict(node=NODE, owner=OP, amount=100, sharesBurned=100, unlockTime=50)),
            event(3, "s03", "UnstakeRequested", dict(node=NODE, owner=OP, amount=50, sharesBurned=50, unlockTime=60)),
            event(4, "s04", "Withdrawn", dict(node=NODE, owner=OP, amount=150)),
        ]
        with db_engine.begin() as conn:
            deliver(conn, evs)
            n = conn.execute(select(NODES)).one()
            p = conn.execute(select(POSITIONS)).one()
            assert conn.execute(select(ENTRIES)).all() == []
        assert (n.total_stake, n.unbonding_stake, n.unbonding_shares) == (850, 0, 0)
        assert (p.shares, p.unbonding_shares, p.withdrawn) == (850, 0, 150)

    def test_applying_again_changes_nothing(self, db_engine: Engine) -> None:
        evs = [
            event(1, "s01", "Staked", dict(node=NODE, owner=OP, amount=7, shares=7, delegated=False, nodeTotalStake=7)),
        ]
        with db_engine.begin() as conn:
            deliver(conn, evs)
            first = projection_rows(conn)
            assert apply_events(conn, evs) == 0
            assert projection_rows(conn) == first
            assert set(conn.execute(select(EVENTS.c.projected)).scalars()) == {True}


# -- incremental == replay -------------------------------------------------------------------------------------


@dataclass
class Chain:
    """A small independent model of the program that emits the events of a random history, in chain order."""

    rng: random.Random
    slot: int = 1
    now: int = 1_000
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    pools: dict[str, list[int]] = field(default_factory=dict)  # node -> [stake, shares, ub_stake, ub_shares]
    shares: dict[tuple[str, str], int] = field(default_factory=dict)
    entries: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)  # (shares, unlock)
    claimed: dict[str, int] = field(default_factory=dict)
    epoch: int = 0

    def emit(self, name: str, fields: dict[str, Any]) -> None:
        if self.rng.random() < 0.5:  # several events per slot: their order inside the slot is the signature's
            self.slot += 1
            self.now += self.rng.randrange(0, 40)
        self.seq += 1
        self.events.append(event(self.slot, f"sig{self.seq:06d}", name, fields))

    def value(self, shares: int, stake: int, total: int) -> int:
        return 0 if total == 0 else stake if shares == total else shares * stake // total

    def step(self, nodes: list[str], owners: list[str]) -> None:
        node, owner = self.rng.choice(nodes), self.rng.choice(owners)
        pool = self.pools.setdefault(node, [0, 0, 0, 0])
        key = (node, owner)
        op = self.rng.choices(
            ["stake", "unstake", "withdraw", "slash", "commission", "claim", "root"], [30, 20, 15, 8, 4, 5, 3]
        )[0]
        if op == "stake":
            amount = self.rng.randrange(1, 10**6)
            minted = amount if pool[1] == 0 else amount * pool[1] // pool[0] if pool[0] else 0
            if minted == 0:
                return
            pool[0] += amount
            pool[1] += minted
            self.shares[key] = self.shares.get(key, 0) + minted
            self.emit(
                "Staked",
                dict(node=node, owner=owner, amount=amount, shares=minted, delegated=True, nodeTotalStake=pool[0]),
            )
        elif op == "unstake" and self.shares.get(key) and len(self.entries.get(key, [])) < 8:
            value = self.value(self.shares[key], pool[0], pool[1])
            amount = self.rng.choice([value, max(1, value // 3)])
            if amount == 0 or amount > value:
                return
            burn = self.shares[key] if amount == value else -(-amount * pool[1] // pool[0])
            if burn == pool[1]:
                amount = pool[0]
            pool[0] -= amount
            pool[1] -= burn
            self.shares[key] -= burn
            minted = amount if pool[3] == 0 else amount * pool[3] // pool[2] if pool[2] else 0
            if minted == 0:
                return  # the program refuses it (AmountTooSmall) and changes nothing: keep the model in step
            pool[2] += amount
            pool[3] += minted
            unlock = self.now + self.rng.choice([0, 30, 200])
            self.entries.setdefault(key, []).append((minted, unlock))
            self.emit(
                "UnstakeRequested",
                dict(
                    node=node, owner=owner, amount=amount, sharesBurned=burn, unlockTime=unlock, unbondingShares=minted
                ),
            )
        elif op == "withdraw" and self.entries.get(key):
            self.now += self.rng.randrange(0, 100)
            paid = [e for e in self.entries[key] if e[1] <= self.now]
            if not paid:
                return
            shares = sum(e[0] for e in paid)
            pay = self.value(shares, pool[2], pool[3])
            pool[2] -= pay
            pool[3] -= shares
            self.entries[key] = [e for e in self.entries[key] if e[1] > self.now]
            self.emit(
                "Withdrawn",
                dict(
                    node=node,
                    owner=owner,
                    amount=pay,
                    unbondingShares=shares,
                    entriesPaid=len(paid),
                    withdrawnAt=self.now,
                ),
            )
        elif op == "slash":
            bps = self.rng.randrange(1, 600)
            cut = pool[0] * bps // BPS + pool[2] * bps // BPS
            pool[0] -= pool[0] * bps // BPS
            pool[2] -= pool[2] * bps // BPS
            self.emit("Slashed", dict(node=node, slashBps=bps, reason=1, amount=cut))
        elif op == "commission":
            self.emit(
                "CommissionScheduled",
                dict(node=node, oldBps=100, newBps=self.rng.randrange(0, 3000), effectiveAt=self.now + 86_400),
            )
        elif op == "claim":
            self.claimed[owner] = self.claimed.get(owner, 0) + self.rng.randrange(1, 1000)
            self.emit("Claimed", dict(wallet=owner, amount=1, cumulativeAmount=self.claimed[owner]))
        elif op == "root":
            self.epoch += 1
            self.emit(
                "RewardsRootPosted",
                dict(epoch=self.epoch, root="ab" * 32, cumulativeTotal=self.epoch, funding=self.epoch * 10),
            )


def history(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    chain = Chain(rng)
    nodes = [f"Node{i}" for i in range(3)]
    owners = [f"Owner{i}" for i in range(5)]
    for node in nodes:
        chain.emit(
            "NodeRegistered", dict(node=node, operator=owners[0], nodeKey=node + "key", gpuUnits=1, commissionBps=500)
        )
    while len(chain.events) < n:
        chain.step(nodes, owners)
    return chain.events


def batches(events: list[dict[str, Any]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """Arrival order: chain order, except that the events of one slot come in any order (so a slot split across
    two batches delivers an event that sorts before one already applied), cut into batches of random size."""
    order = sorted(events, key=lambda e: (e["slot"], rng.random()))
    out, i = [], 0
    while i < len(order):
        n = rng.choice([1, 2, 3, 5, 8, 20])
        out.append(order[i : i + n])
        i += n
    return out


def reset(conn: Connection) -> None:
    for t in (EVENTS, NODES, POSITIONS, ENTRIES):
        conn.execute(delete(t))
    rebuild_all(conn)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 160))
def test_incremental_rows_equal_a_replay_from_scratch(db_engine: Engine, seed: int, n: int) -> None:
    events = history(seed, n)
    with db_engine.begin() as conn:
        reset(conn)
        for batch in batches(events, random.Random(seed + 1)):
            deliver(conn, batch)
        incremental = projection_rows(conn)
        rebuild_all(conn)
        replayed = projection_rows(conn)
        reset(conn)
    assert incremental == replayed


def test_out_of_order_arrival_is_exercised_and_replays_only_that_node(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The property above goes through both paths: most batches apply on top of the rows, a split slot replays."""
    events = history(7, 400)
    caplog.set_level(logging.INFO, logger="indexer.projections")
    with db_engine.begin() as conn:
        for batch in batches(events, random.Random(8)):
            deliver(conn, batch)
        incremental = projection_rows(conn)
        rebuild_all(conn)
        assert projection_rows(conn) == incremental
    replays = [r for r in caplog.records if "replaying the node" in r.getMessage()]
    assert 0 < len(replays) < len(batches(events, random.Random(8))) // 2


def test_migration_0004_resets_the_projections_and_the_next_pass_rebuilds_them(db_url: str) -> None:
    """A database of revision 0003 (events and projections of the earlier program) upgrades to 0004: the old
    projection rows go, every stored event is unprojected, and ``apply_events`` (which every backfill pass calls
    first) rebuilds the rows, entries included."""
    from sqlalchemy import text

    from backend import migrate
    from backend.db import make_engine

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0003")
        legacy = [
            event(1, "s01", "Staked", dict(node=NODE, owner=OP, amount=500, shares=500, delegated=False,
                                           nodeTotalStake=500)),
            event(2, "s02", "UnstakeRequested", dict(node=NODE, owner=OP, amount=100, sharesBurned=100,
                                                     unlockTime=900)),
        ]  # fmt: skip
        with engine.begin() as conn:
            for e in legacy:
                cols = ", ".join(e)
                conn.execute(text(f"INSERT INTO program_events ({cols}) VALUES ({', '.join(':' + c for c in e)})"), e)
            conn.execute(
                text(
                    "INSERT INTO stake_positions (node, owner, shares, unbonding_shares, bonded, unbonding, "
                    "unlock_time, withdrawn, last_slot) VALUES (:n, :o, 400, 100, 400, 100, 900, 0, 2)"
                ),
                {"n": NODE, "o": OP},
            )
        migrate.upgrade(engine)
        with engine.begin() as conn:
            assert projection_rows(conn)["stake_positions"] == []
            assert set(conn.execute(select(EVENTS.c.projected)).scalars()) == {False}
            assert apply_events(conn) == 2
            p = conn.execute(select(POSITIONS)).one()
            (entry,) = conn.execute(select(ENTRIES)).all()
        assert (p.shares, p.unbonding_shares, p.unbonding, p.unlock_time) == (400, 100, 100, 900)
        assert (entry.amount, entry.shares, entry.unlock_time) == (100, 100, 900)
    finally:
        engine.dispose()
