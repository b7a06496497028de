"""Projections: unbonding entries follow the program, and the incremental path gives exactly the rows of a replay
from scratch, whatever batches the events arrive in (issue 9 part 6, issue 10 part 6)."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, select

from indexer.projections import ENTRIES, NODES, POSITIONS, apply_events, rebuild_all
from indexer.store import EVENTS
from tests.indexer.eventgen import event, history
from tests.indexer.projection_rows import projection_rows

NODE, OP, ALICE, BOB = "Node111", "Op111", "Alice111", "Bob111"


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
