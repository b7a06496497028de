"""The writer on a real database: idempotent upserts, commitment tiers, cursors, locks, projections."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import Engine, func, select

from indexer.decode import decode_transaction
from indexer.errors import LockHeld
from indexer.projections import NODES, POSITIONS, apply_events, rebuild_all
from indexer.store import (
    EVENTS,
    REFS,
    TRANSFERS,
    TX,
    AddressSetLock,
    advance_cursor,
    counts,
    drop_stale_pending,
    get_cursor,
    write_batch,
)
from tests.indexer.golden import RESOURCES, context

NAMES = ["payment_two_refs", "cpi_stake", "other_mint", "failed_payment", "events_mixed"]


def decoded(status: str = "finalized") -> list:
    ctx = context("handmade_meta.json")
    out = []
    for n in NAMES:
        rec = json.loads((RESOURCES / f"handmade_{n}.json").read_text())
        out.append(decode_transaction(rec["signature"], rec["result"], ctx, status))
    return out


class TestIdempotentWrites:
    def test_writing_the_same_batch_twice_changes_nothing(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            write_batch(conn, decoded())
            first = counts(conn)
        with db_engine.begin() as conn:
            write_batch(conn, decoded())
            assert counts(conn) == first
        assert first == {
            "indexed_transactions": 5,
            "token_transfers": 5,
            "transfer_references": 3,
            "program_events": 6,
        }

    def test_pending_rows_upgrade_to_finalized_and_never_back(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            write_batch(conn, decoded("confirmed"))
        with db_engine.connect() as conn:
            assert set(conn.execute(select(TX.c.status)).scalars()) == {"confirmed"}
        with db_engine.begin() as conn:
            write_batch(conn, decoded("finalized"))
            write_batch(conn, decoded("confirmed"))
        with db_engine.connect() as conn:
            for t in (TX, TRANSFERS, EVENTS):
                assert set(conn.execute(select(t.c.status)).scalars()) == {"finalized"}

    def test_amounts_round_trip_as_int(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            write_batch(conn, decoded())
        with db_engine.connect() as conn:
            amounts = sorted(conn.execute(select(TRANSFERS.c.amount)).scalars())
        assert amounts == [7, 99, 500, 1234567, 10**12] and all(type(a) is int for a in amounts)

    def test_a_failed_write_leaves_rows_and_cursor_untouched(self, db_engine: Engine) -> None:
        bad = decoded()
        bad[-1] = copy.deepcopy(bad[-1])
        bad[-1].transfers.append(dict(decoded()[0].transfers[0], ix_path="9", amount="12"))  # not an int
        with pytest.raises(Exception), db_engine.begin() as conn:  # noqa: B017 - any DB/range error
            write_batch(conn, bad, {"addr": ("sig", 5)})
        with db_engine.connect() as conn:
            assert counts(conn)["indexed_transactions"] == 0
            assert get_cursor(conn, "addr") == (None, 0)

    def test_a_u64_max_amount_is_kept_exactly(self, db_engine: Engine) -> None:
        rows = decoded()
        big = 2**64 - 1
        rows[3].transfers[0].update(amount=big, amount_raw=str(big))  # the failed payment
        with db_engine.begin() as conn:
            write_batch(conn, rows)
        with db_engine.connect() as conn:
            amount, raw = conn.execute(
                select(TRANSFERS.c.amount, TRANSFERS.c.amount_raw).where(TRANSFERS.c.failed.is_(True))
            ).one()
        assert raw == str(big) and amount in (big, None)  # None only where the column cannot hold it (SQLite)
        assert amount == big or db_engine.dialect.name == "sqlite"


class TestCursor:
    def test_cursor_only_moves_forward(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            advance_cursor(conn, "A", "s10", 10)
            advance_cursor(conn, "A", "s5", 5)
            assert get_cursor(conn, "A") == ("s10", 10)
            advance_cursor(conn, "A", "s12", 12)
            assert get_cursor(conn, "A") == ("s12", 12)


class TestPending:
    def test_pending_rows_that_never_finalize_are_dropped(self, db_engine: Engine) -> None:
        rows = decoded("confirmed")
        with db_engine.begin() as conn:
            write_batch(conn, rows[:2])
            write_batch(conn, [d for d in decoded("finalized")[2:]])
            dropped = drop_stale_pending(conn, finalized_slot=10**9)
            assert dropped == 2
            assert counts(conn)["indexed_transactions"] == 3
            assert conn.execute(select(func.count()).select_from(REFS)).scalar_one() == 1  # failed payment's

    def test_pending_rows_above_the_finalized_slot_stay(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            write_batch(conn, decoded("confirmed"))
            assert drop_stale_pending(conn, finalized_slot=0) == 0


class TestLock:
    def test_second_indexer_on_the_same_address_set_is_refused(self, db_engine: Engine) -> None:
        a = AddressSetLock(db_engine, ["X", "Y"])
        a.acquire()
        try:
            with pytest.raises(LockHeld):
                AddressSetLock(db_engine, ["Y", "X"]).acquire()
            AddressSetLock(db_engine, ["Z"]).acquire()  # another set is independent
        finally:
            a.release()
        b = AddressSetLock(db_engine, ["X", "Y"])
        b.acquire()
        b.release()


class TestProjections:
    def test_events_applied_twice_give_the_same_projection(self, db_engine: Engine) -> None:
        evs = [e for d in decoded() for e in d.events]
        with db_engine.begin() as conn:
            write_batch(conn, decoded())
            apply_events(conn, evs)
            once = (conn.execute(select(NODES)).all(), conn.execute(select(POSITIONS)).all())
            apply_events(conn, evs)
            rebuild_all(conn)
            assert (conn.execute(select(NODES)).all(), conn.execute(select(POSITIONS)).all()) == once
        (pos,) = once[1]
        assert (pos.shares, pos.bonded, pos.withdrawn) == (500, 500, 77)

    def test_pending_events_do_not_move_projections(self, db_engine: Engine) -> None:
        with db_engine.begin() as conn:
            write_batch(conn, decoded("confirmed"))
            rebuild_all(conn)
            assert conn.execute(select(func.count()).select_from(NODES)).scalar_one() == 0


class TestRewardsProjections:
    def test_roots_and_claims_from_events(self, db_engine: Engine) -> None:
        import base64
        import hashlib
        import struct

        import based58

        from indexer.decode import decode_events
        from indexer.projections import CLAIMS, ROOTS

        ctx = context("handmade_meta.json")
        wallet = "AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9"

        def ev(name: str, payload: bytes) -> str:
            disc = hashlib.sha256(f"event:{name}".encode()).digest()[:8]
            return "Program data: " + base64.b64encode(disc + payload).decode()

        pid = ctx.program_id
        logs = [
            f"Program {pid} invoke [1]",
            ev("RewardsRootPosted", struct.pack("<Q", 7) + bytes(range(32)) + struct.pack("<QQ", 900, 300)),
            f"Program {pid} success",
            f"Program {pid} invoke [1]",
            ev("Claimed", based58.b58decode(wallet.encode()) + struct.pack("<QQ", 100, 100)),
            ev("Claimed", based58.b58decode(wallet.encode()) + struct.pack("<QQ", 50, 150)),
            f"Program {pid} success",
        ]
        events = decode_events("sigR", 50, None, logs, ctx, "finalized")
        assert [e["name"] for e in events] == ["RewardsRootPosted", "Claimed", "Claimed"]
        with db_engine.begin() as conn:
            conn.execute(EVENTS.insert(), events)
            apply_events(conn, events)
            apply_events(conn, events)
            root = conn.execute(select(ROOTS)).one()
            claim = conn.execute(select(CLAIMS)).one()
        assert (root.epoch, root.amount, root.root) == (7, 300, bytes(range(32)).hex())
        assert (claim.wallet, claim.claimed_total, claim.claims) == (wallet, 150, 2)


class TestStakeReplay:
    def test_share_pools_follow_the_programs_arithmetic_through_a_slash(self, db_engine: Engine) -> None:
        import base64
        import hashlib
        import struct

        import based58

        from indexer.decode import decode_events
        from indexer.projections import ENTRIES, NODES, POSITIONS

        ctx = context("handmade_meta.json")
        node, a, b = (
            based58.b58decode(k.encode()) for k in json.loads((RESOURCES / "handmade_meta.json").read_text())["watched"]
        )

        def ev(name: str, payload: bytes) -> str:
            disc = hashlib.sha256(f"event:{name}".encode()).digest()[:8]
            return "Program data: " + base64.b64encode(disc + payload).decode()

        pid = ctx.program_id
        steps = [
            ev("Staked", node + a + struct.pack("<QQ?Q", 1000, 1000, False, 1000)),
            ev("Staked", node + b + struct.pack("<QQ?Q", 1000, 1000, True, 2000)),
            ev("UnstakeRequested", node + a + struct.pack("<QQqQ", 400, 400, 1_800_000_000, 400)),
            ev("Slashed", node + struct.pack("<HIQ", 1000, 7, 200)),  # 10%: 160 bonded + 40 unbonding
        ]
        rows = []
        for slot, line in enumerate(steps, start=10):
            logs = [f"Program {pid} invoke [1]", line, f"Program {pid} success"]
            rows += decode_events(f"sig{slot}", slot, None, logs, ctx, "finalized")
        assert all(r["error"] is None for r in rows)
        with db_engine.begin() as conn:
            conn.execute(EVENTS.insert(), rows)
            apply_events(conn, rows)
            n = conn.execute(select(NODES)).one()
            pos = {r.owner: r for r in conn.execute(select(POSITIONS))}
        assert (n.total_stake, n.total_shares, n.unbonding_stake, n.unbonding_shares, n.slashed_total) == (
            1440,
            1600,
            360,
            400,
            200,
        )
        pa, pb = pos[based58.b58encode(a).decode()], pos[based58.b58encode(b).decode()]
        assert (pa.shares, pa.bonded, pa.unbonding_shares, pa.unbonding, pa.unlock_time) == (
            600,
            540,
            400,
            360,
            1_800_000_000,
        )
        assert (pb.shares, pb.bonded, pb.unbonding) == (1000, 900, 0)
        assert pa.bonded + pb.bonded == n.total_stake
        with db_engine.connect() as conn:
            (entry,) = conn.execute(select(ENTRIES)).all()
        assert (entry.owner, entry.amount, entry.shares, entry.value, entry.unlock_time) == (
            based58.b58encode(a).decode(),
            400,
            400,
            360,  # 10% slashed while unbonding
            1_800_000_000,
        )


class TestUndecodableTransactionsAreKept:
    """A fetched transaction the decoder cannot read must not be skipped: the cursor moves past it in the same
    batch, so a skip would lose it for good. It is stored with its raw response and counts for nothing."""

    def test_pipeline_keeps_it_with_raw_response_and_counts_nothing(self, db_engine: Engine) -> None:
        from indexer.pipeline import Indexer

        rec = json.loads((RESOURCES / "handmade_payment_two_refs.json").read_text())
        broken = copy.deepcopy(rec["result"])
        del broken["transaction"]["message"]
        pipe = Indexer.__new__(Indexer)  # decode_all needs only the decode context, no RPC
        pipe.ctx = context("handmade_meta.json")
        rows = pipe.decode_all({rec["signature"]: broken}, "finalized")
        assert len(rows) == 1 and rows[0].transfers == [] and rows[0].events == []
        with db_engine.begin() as conn:
            write_batch(conn, rows, {"TreasuryAddr": (rec["signature"], rows[0].tx["slot"])})
        with db_engine.connect() as conn:
            row = conn.execute(select(TX).where(TX.c.signature == rec["signature"])).one()
            assert row.decode_error and json.loads(row.raw) == broken
            assert row.slot == broken["slot"]
            assert conn.execute(select(func.count()).select_from(TRANSFERS)).scalar() == 0
            assert get_cursor(conn, "TreasuryAddr")[0] == rec["signature"]

    def test_a_later_good_decode_replaces_a_pending_undecodable_row(self, db_engine: Engine) -> None:
        from indexer.decode import undecodable

        rec = json.loads((RESOURCES / "handmade_payment_two_refs.json").read_text())
        with db_engine.begin() as conn:
            write_batch(conn, [undecodable(rec["signature"], {"slot": "x"}, "confirmed")])
        with db_engine.begin() as conn:
            good = decode_transaction(rec["signature"], rec["result"], context("handmade_meta.json"), "finalized")
            write_batch(conn, [good])
        with db_engine.connect() as conn:
            row = conn.execute(select(TX).where(TX.c.signature == rec["signature"])).one()
            assert row.decode_error is None and row.raw is None and row.status == "finalized"
            assert conn.execute(select(func.count()).select_from(TRANSFERS)).scalar() == 1
