"""POST /telemetry/heartbeats: signed, per-item results, uptime bitmaps, continuous uptime, rejections that
change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.config import Settings
from backend.epochs.clock import EpochClock
from backend.models.telemetry import Challenge, EpochUptime, NodeTelemetry
from backend.telemetry import heartbeats, service, uptime
from tests.backend.telemetry.world import SimNode, add_node

G = 1_800_000_000  # genesis, on a minute
EPOCH = 600
GRACE = 60
CLOCK = EpochClock(G, EPOCH, GRACE)


class Api:
    """The app with a driven clock."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.now = G

    def post(self, *items: Any) -> list[dict[str, Any]]:
        self.client.app.state.clock = lambda: self.now  # type: ignore[attr-defined]
        r = self.client.post("/telemetry/heartbeats", json={"heartbeats": list(items)})
        assert r.status_code == 200, r.text
        return r.json()["results"]


@pytest.fixture
def api(db_url: str, db_engine: Any) -> Iterator[Api]:
    settings = Settings(
        database_url=db_url, epoch_genesis=G, epoch_seconds=EPOCH, epoch_grace_seconds=GRACE,
        challenge_difficulty_bits=4, uptime_max_gap_minutes=5, _env_file=None,
    )  # fmt: skip
    with TestClient(create_app(settings)) as c:
        yield Api(c)


@pytest.fixture
def node(session_factory: sessionmaker[Session]) -> SimNode:
    with session_factory.begin() as s:
        return add_node(s, gpu_model="A100", gpu_units=8)


def snapshot(session_factory: sessionmaker[Session]) -> tuple[Any, ...]:
    """Everything heartbeats write."""
    with session_factory() as s:
        return (
            sorted(tuple(r) for r in s.execute(select(NodeTelemetry.__table__))),
            sorted(tuple(r) for r in s.execute(select(EpochUptime.__table__))),
            sorted(tuple(r) for r in s.execute(select(Challenge.__table__))),
        )


def minutes_up(session_factory: sessionmaker[Session], node: SimNode, epoch: int = 0) -> list[int]:
    with session_factory() as s:
        row = s.get(EpochUptime, (node.key, epoch))
        return [] if row is None else uptime.minutes_set(row.minutes)


class TestAccepted:
    def test_a_heartbeat_marks_its_minute_up(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + 490
        (res,) = api.post(node.beat(G + 485))
        assert res["status"] == "accepted"
        assert minutes_up(session_factory, node) == [8]
        with session_factory() as s:
            up, cont = service.epoch_uptime(s, CLOCK, 0, 5)[node.key]
        assert (up, cont) == (60, 60)

    def test_late_heartbeat_counts_within_the_grace(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + EPOCH + 50  # epoch 0 ended 50 s ago; grace is 60 s
        (res,) = api.post(node.beat(G + EPOCH - 10))
        assert res["status"] == "accepted" and minutes_up(session_factory, node) == [9]

    def test_metrics_count_results_and_reasons(self, api: Api, node: SimNode) -> None:
        api.now = G + 10
        api.post(node.beat(G + 10), {"payload": 1, "signature": "x"})
        r = api.client.get("/metrics", follow_redirects=False)
        assert r.status_code == 200
        text = r.text
        assert 'iog_heartbeats_total{result="accepted"}' in text
        assert 'iog_heartbeats_total{result="malformed"}' in text


class TestRejectedChangesNothing:
    """Forged, replayed, skewed and unknown-node heartbeats are rejected with their reason and change no uptime."""

    def _check(self, api: Api, session_factory: Any, item: Any, reason: str) -> None:
        before = snapshot(session_factory)
        (res,) = api.post(item)
        assert res == {"status": "rejected", "reason": reason}
        assert snapshot(session_factory) == before

    def test_forged_signature(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + 200
        api.post(node.beat(G + 60))
        forged = node.beat(G + 200)
        forged["signature"] = str(Keypair().sign_message(heartbeats.message(forged["payload"])))
        self._check(api, session_factory, forged, "bad_signature")
        tampered = node.beat(G + 200)
        tampered["payload"]["ts"] += 60  # signed for another minute
        self._check(api, session_factory, tampered, "bad_signature")

    def test_replayed(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + 100
        first, second = node.beat(G + 60), node.beat(G + 100)
        api.post(second)  # seq 2 accepted first: seq 1 is now old
        self._check(api, session_factory, second, "replayed_seq")
        self._check(api, session_factory, first, "replayed_seq")

    @pytest.mark.parametrize("offset", [-121, 121, -10_000])
    def test_skewed(self, api: Api, node: SimNode, session_factory: Any, offset: int) -> None:
        api.now = G + 300
        self._check(api, session_factory, node.beat(G + 300 + offset), "clock_skew")

    def test_before_genesis_and_frozen_epoch_are_skew(self, db_url: str, db_engine: Any, session_factory: Any) -> None:
        settings = Settings(database_url=db_url, epoch_genesis=G, epoch_seconds=EPOCH, epoch_grace_seconds=30,
                            _env_file=None)  # fmt: skip
        with session_factory.begin() as s:
            n = add_node(s)
        with TestClient(create_app(settings)) as c:
            api = Api(c)
            api.now = G + 5
            self._check(api, session_factory, n.beat(G - 5), "clock_skew")
            api.now = G + EPOCH + 31  # 31 s after the end: epoch 0 froze 1 s ago, within the 120 s skew
            self._check(api, session_factory, n.beat(G + EPOCH - 30), "clock_skew")

    def test_unknown_node(self, api: Api, session_factory: Any) -> None:
        stranger = SimNode(Keypair(), "x", "y", "A100", 8)
        api.now = G + 30
        self._check(api, session_factory, stranger.beat(G + 30), "unknown_node")

    @pytest.mark.parametrize("kind", ["deactivated", "not_on_chain"])
    def test_inactive_node(self, api: Api, session_factory: Any, kind: str) -> None:
        with session_factory.begin() as s:
            n = add_node(s, active=False) if kind == "deactivated" else add_node(s, on_chain=False)
        api.now = G + 30
        self._check(api, session_factory, n.beat(G + 30), "inactive_node")

    @pytest.mark.parametrize("change", [{"gpu_model": "H100"}, {"gpu_units": 4}])
    def test_gpu_mismatch(self, api: Api, node: SimNode, session_factory: Any, change: dict) -> None:
        api.now = G + 30
        self._check(api, session_factory, node.beat(G + 30, **change), "gpu_mismatch")

    def test_rate_limited(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + 62
        api.post(node.beat(G + 58))
        self._check(api, session_factory, node.beat(G + 61), "rate_limited")  # 3 s later, minimum 5 s

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda i: i.update(extra=1),
            lambda i: i["payload"].update(ts=1.5),
            lambda i: i["payload"].update(seq=True),
            lambda i: i["payload"].update(gpu_units=0),
            lambda i: i["payload"].update(gpu_model="A100\n"),
            lambda i: i["payload"].update(node="not-base58-0OIl"),
            lambda i: i["payload"].update(colour="red"),
            lambda i: i["payload"].update(challenge={"id": "zz", "solution": "00"}),
            lambda i: i.update(signature="1" * 200),
            lambda i: i.update(signature="abc"),
        ],
    )
    def test_malformed(self, api: Api, node: SimNode, session_factory: Any, mutate: Any) -> None:
        item = node.beat(G + 30)
        mutate(item)
        api.now = G + 30
        self._check(api, session_factory, item, "malformed")

    def test_one_bad_item_never_rejects_the_others(self, api: Api, node: SimNode, session_factory: Any) -> None:
        other = SimNode(Keypair(), "x", "y", "A100", 8)
        api.now = G + 130
        results = api.post("junk", node.beat(G + 70), other.beat(G + 70), node.beat(G + 130), node.beat(G + 131))
        assert [r.get("reason", r["status"]) for r in results] == [
            "malformed", "accepted", "unknown_node", "accepted", "rate_limited",
        ]  # fmt: skip
        assert minutes_up(session_factory, node) == [1, 2]

    def test_batch_over_1000_is_422(self, api: Api, node: SimNode) -> None:
        r = api.client.post("/telemetry/heartbeats", json={"heartbeats": [{}] * 1001})
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput"


class TestContinuousUptime:
    def test_gap_up_to_the_limit_keeps_the_run_and_a_longer_one_resets_it(
        self, api: Api, node: SimNode, session_factory: Any
    ) -> None:
        def up_at(minute: int) -> None:
            api.now = G + 60 * minute + 1
            assert api.post(node.beat(api.now))[0]["status"] == "accepted"

        for m in (0, 1, 2):
            up_at(m)
        up_at(8)  # 5 minutes missing (3..7): neither up nor a reset
        with session_factory() as s:
            assert s.get(NodeTelemetry, node.key).streak_minutes == 4
        up_at(15)  # 6 minutes missing: reset
        with session_factory() as s:
            assert s.get(NodeTelemetry, node.key).streak_minutes == 1
            up, cont = service.epoch_uptime(s, CLOCK, 1, 5)[node.key]
        assert (up, cont) == (60, 60)
        with session_factory() as s:
            up0, cont0 = service.epoch_uptime(s, CLOCK, 0, 5)[node.key]
        # epoch 0 = minutes 0..9: up 0,1,2,8; the run (4 minutes) is alive at its end (minute 9 missing only)
        assert (up0, cont0) == (4 * 60, 4 * 60)

    def test_run_is_dead_at_the_end_after_a_long_gap(self, api: Api, node: SimNode, session_factory: Any) -> None:
        api.now = G + 61
        api.post(node.beat(G + 61))  # minute 1; minutes 2..9 missing (8 > 5)
        with session_factory() as s:
            assert service.epoch_uptime(s, CLOCK, 0, 5)[node.key] == (60, 0)


class TestChallenges:
    def _first_offer(
        self, api: Api, node: SimNode, session_factory: Any, force_minute: int | None = None
    ) -> dict[str, Any]:
        """Heartbeats minute by minute until a challenge is handed out: at its random minute, or at
        ``force_minute`` (the random choice made at the node's first heartbeat, in minute 0, is replaced)."""
        from backend.telemetry import recorder

        saved = recorder._rng.randrange
        if force_minute is not None:
            recorder._rng.randrange = lambda n: force_minute  # type: ignore[method-assign]
        try:
            for minute in range(EPOCH // 60):
                api.now = G + 60 * minute + 5
                (res,) = api.post(node.beat(api.now))
                assert res["status"] == "accepted"
                if "challenge" in res:
                    with session_factory() as s:
                        (ch,) = s.scalars(select(Challenge)).all()
                    assert api.now >= ch.issue_at  # handed out at or after its minute, never before
                    assert force_minute is None or minute == force_minute
                    return res["challenge"]
        finally:
            recorder._rng.randrange = saved  # type: ignore[method-assign]
        raise AssertionError("no challenge in the epoch")

    def _answer(self, api: Api, node: SimNode, offer: dict[str, Any], solution: str, at: int) -> dict[str, Any]:
        api.now = at
        (res,) = api.post(node.beat(at, challenge={"id": offer["id"], "solution": solution}))
        return res

    def test_a_correct_answer_in_time_verifies_the_node(self, api: Api, node: SimNode, session_factory: Any) -> None:
        from backend.telemetry.challenges import solve_puzzle

        offer = self._first_offer(api, node, session_factory)
        assert offer["difficulty"] == 4 + 3  # 8 GPUs: base + log2(8)
        solution = solve_puzzle(offer["nonce"], offer["difficulty"], node.key)
        res = self._answer(api, node, offer, solution, api.now + 10)
        assert res["status"] == "accepted" and res["challenge_result"] == "passed" and "challenge" not in res
        with session_factory() as s:
            assert service.verified_nodes(s, 0) == {node.key}

    def test_a_wrong_answer_fails_and_cannot_be_retried(self, api: Api, node: SimNode, session_factory: Any) -> None:
        from backend.telemetry.challenges import PuzzleVerifier, solve_puzzle

        offer = self._first_offer(api, node, session_factory)
        wrong = next(
            x.to_bytes(8, "big").hex()
            for x in range(1000)
            if not PuzzleVerifier(4).check(offer["nonce"], offer["difficulty"], node.key, x.to_bytes(8, "big").hex())
        )
        assert self._answer(api, node, offer, wrong, api.now + 10)["challenge_result"] == "failed"
        right = solve_puzzle(offer["nonce"], offer["difficulty"], node.key)
        assert self._answer(api, node, offer, right, api.now + 10)["challenge_result"] == "failed"
        with session_factory() as s:
            assert service.verified_nodes(s, 0) == set()

    def test_a_late_answer_expires(self, api: Api, node: SimNode, session_factory: Any) -> None:
        from backend.telemetry.challenges import solve_puzzle

        offer = self._first_offer(api, node, session_factory, force_minute=1)
        assert offer["deadline"] == G + 60 + 5 + 300  # handed out at minute 1, 300 s to answer
        solution = solve_puzzle(offer["nonce"], offer["difficulty"], node.key)
        late = offer["deadline"] + 1
        assert self._answer(api, node, offer, solution, late)["challenge_result"] == "expired"
        with session_factory() as s:
            assert service.verified_nodes(s, 0) == set()

    def test_another_nodes_answer_is_unknown(self, api: Api, node: SimNode, session_factory: Any) -> None:
        from backend.telemetry.challenges import solve_puzzle

        with session_factory.begin() as s:
            other = add_node(s)
        offer = self._first_offer(api, node, session_factory)
        solution = solve_puzzle(offer["nonce"], offer["difficulty"], node.key)
        api.now += 1
        (res,) = api.post(other.beat(api.now, challenge={"id": offer["id"], "solution": solution}))
        assert res["challenge_result"] == "unknown"
        with session_factory() as s:
            assert service.verified_nodes(s, 0) == set()  # still only issued

    def test_an_answer_after_the_next_epoch_began_still_counts_for_its_epoch(
        self, api: Api, node: SimNode, session_factory: Any
    ) -> None:
        from backend.telemetry.challenges import solve_puzzle

        offer = self._first_offer(api, node, session_factory, force_minute=9)  # epoch 0's last minute
        api.now = G + EPOCH + 5
        (res,) = api.post(node.beat(api.now))  # epoch 1 begins: its own challenge is scheduled
        assert res["status"] == "accepted"
        solution = solve_puzzle(offer["nonce"], offer["difficulty"], node.key)
        res = self._answer(api, node, offer, solution, api.now + 10)
        assert res["challenge_result"] == "passed"
        with session_factory() as s:
            assert service.verified_nodes(s, 0) == {node.key}
            assert {c.epoch for c in s.scalars(select(Challenge))} == {0, 1}

    def test_unanswered_challenge_is_offered_again(self, api: Api, node: SimNode, session_factory: Any) -> None:
        offer = self._first_offer(api, node, session_factory)
        api.now += 10
        (res,) = api.post(node.beat(api.now))
        assert res["challenge"] == offer


def test_puzzle_difficulty_scales_with_gpu_units() -> None:
    from backend.telemetry.challenges import PuzzleVerifier

    v = PuzzleVerifier(16)
    assert [v.difficulty(u) for u in (1, 2, 3, 4, 8, 65535)] == [16, 17, 17, 18, 19, 31]
