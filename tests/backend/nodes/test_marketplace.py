"""node_stats and the marketplace over indexer-shaped rows: what a row holds, idempotent and set-based refresh,
sorts, filters and cursor pages through the API."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.models.nodes import NodeStat
from backend.nodes.tasks import refresh_node_stats, sync_registry
from tests.backend.nodes import rows as R

NOW = 1_800_000_000


def settings() -> Settings:
    return Settings(program_id=R.PROGRAM, _env_file=None)  # type: ignore[call-arg]


def refresh(factory: sessionmaker[Session], now: int = NOW) -> Any:
    with factory.begin() as s:
        sync_registry(s, now)
        return refresh_node_stats(s, settings(), now)


@pytest.fixture
def app(client: TestClient) -> TestClient:
    client.app.state.settings = settings()  # type: ignore[attr-defined]
    return client


class TestRow:
    def test_a_node_with_delegations_pending_commission_and_a_slash(self, session_factory: sessionmaker) -> None:
        rows = R.empty_rows()
        rows["events"].append(R.config_event(min_per_gpu=200 * R.IO, cap_bps=5_000))
        n = R.add_node(
            rows, gpu_units=2, operator_stake=1_000 * R.IO, delegations=(300 * R.IO, 100 * R.IO), commission=500,
            pending=(900, NOW + 50), record={"gpu_model": "H100", "region": "us-east", "name": "rig-1"},
        )  # fmt: skip
        other = R.add_node(rows, operator_stake=0)
        rows["events"].append(R.event("Slashed", n["node"], 20, {"node": n["node"], "slashBps": 100, "reason": 7,
                                                              "amount": "5"}, NOW - 10))  # fmt: skip
        with session_factory.begin() as s:
            R.write(s, rows, synced_slot=77)
        result = refresh(session_factory)
        assert (result.nodes, result.inserted, result.as_of_slot) == (2, 2, 77)
        with session_factory() as s:
            row = s.get(NodeStat, n["node"])
            empty = s.get(NodeStat, other["node"])
        assert (row.name, row.gpu_model, row.region, row.record_status) == ("rig-1", "H100", "us-east", "registered")
        assert (row.node_key, row.gpu_units, row.operator) == (n["node_key"], 2, n["operator"])
        assert (row.total_stake, row.operator_stake, row.delegated_stake) == (1_400 * R.IO, 1_000 * R.IO, 400 * R.IO)
        assert row.min_operator_stake == 400 * R.IO and row.delegator_count == 2
        # 50% cap: delegated may reach the operator's stake: 1,000 - 400 = 600 IO more
        assert row.capacity_left == 600 * R.IO
        assert (row.commission_bps, row.pending_commission_bps, row.commission_effective_at) == (500, 900, NOW + 50)
        assert row.commission_key == 900  # the score and the filter see the pending increase
        assert (row.slash_count, row.last_slash_reason, row.last_slash_slot) == (1, 7, 20)
        assert not row.eligible and row.ineligible_reasons == "slashed_recently" and row.score == 0
        assert row.uptime_30d_bps is None and row.estimated_apy_bps is None and row.uptime_key == -1
        assert empty.capacity_left == 0 and empty.ineligible_reasons == "operator_below_minimum"

    def test_a_matured_increase_is_in_force(self, session_factory: sessionmaker) -> None:
        rows = R.empty_rows()
        rows["events"].append(R.config_event())
        n = R.add_node(rows, commission=500, pending=(900, NOW - 1))
        with session_factory.begin() as s:
            R.write(s, rows)
        refresh(session_factory)
        with session_factory() as s:
            row = s.get(NodeStat, n["node"])
        assert (row.commission_bps, row.pending_commission_bps, row.commission_key) == (900, None, 900)


class TestRefresh:
    def test_idempotent_and_only_changed_rows_are_written(self, session_factory: sessionmaker) -> None:
        with session_factory.begin() as s:
            R.write(s, R.synthetic(60))
        first = refresh(session_factory)
        assert (first.nodes, first.inserted, first.updated) == (60, 60, 0)
        again = refresh(session_factory)
        assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
        # one more delegation on one node changes that node's stake pools only (the score does not read stake)
        from sqlalchemy import select

        from backend.models.staking import StakePosition, StakingNode

        with session_factory.begin() as s:
            node = s.scalars(select(StakingNode).where(StakingNode.active.is_(True)).limit(1)).one()
            node.total_stake += 5
            node.total_shares += 5
            s.add(StakePosition(node=node.node, owner=R.key(), shares=5, bonded=5, last_slot=1))
        third = refresh(session_factory, NOW + 1)
        assert (third.inserted, third.updated, third.deleted) == (0, 1, 0)

    def test_the_number_of_statements_does_not_grow_with_the_nodes(self, session_factory: sessionmaker) -> None:
        counts = []
        for n in (5, 120):
            with session_factory.begin() as s:
                s.execute(NodeStat.__table__.delete())
                for t in ("stake_positions", "staking_nodes", "program_events", "node_records"):
                    s.execute(__import__("sqlalchemy").text(f"DELETE FROM {t}"))
                R.write(s, R.synthetic(n, seed=n))
            seen: list[str] = []

            def count(_conn: Any, _cursor: Any, statement: str, *_a: Any, seen: list[str] = seen) -> None:
                seen.append(statement)

            engine = session_factory.kw["bind"]
            event.listen(engine, "before_cursor_execute", count)
            try:
                refresh(session_factory, NOW + n)  # a new refresh time: the meta row is written both times
            finally:
                event.remove(engine, "before_cursor_execute", count)
            counts.append(Counter(q.split("\n")[0][:60] for q in seen))
        assert sum(counts[0].values()) == sum(counts[1].values()) < 20, counts

    def test_a_node_gone_from_the_projections_leaves_the_listing(self, session_factory: sessionmaker) -> None:
        rows = R.empty_rows()
        rows["events"].append(R.config_event())
        n = R.add_node(rows)
        with session_factory.begin() as s:
            R.write(s, rows)
        refresh(session_factory)
        from backend.models.staking import StakingNode

        with session_factory.begin() as s:  # e.g. projections rebuilt after a reorg of the indexer's view
            s.delete(s.get(StakingNode, n["node"]))
        assert refresh(session_factory).deleted == 1


def all_pages(app: TestClient, **params: Any) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = app.get("/marketplace/nodes", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 1_000


SORT_KEYS = {
    "score": (lambda i: i["score"]["value"], True),
    "stake": (lambda i: int(i["total_stake"]), True),
    "capacity": (lambda i: int(i["capacity_left"]), True),
    "commission": (lambda i: max(i["commission_bps"], i["pending_commission_bps"] or 0), False),
}


class TestListing:
    @pytest.fixture
    def net(self, session_factory: sessionmaker) -> None:
        with session_factory.begin() as s:
            R.write(s, R.synthetic(90, seed=3), synced_slot=55)
        refresh(session_factory)

    @pytest.mark.parametrize("sort", list(SORT_KEYS))
    def test_every_node_once_in_order_across_pages(self, app: TestClient, net: None, sort: str) -> None:
        items = all_pages(app, sort=sort, limit=7)
        nodes = [i["node"] for i in items]
        assert len(nodes) == len(set(nodes)) == 90
        key, desc = SORT_KEYS[sort]
        expected = sorted(items, key=lambda i: (key(i), i["node"]), reverse=desc)
        assert [i["node"] for i in expected] == nodes

    def test_filters(self, app: TestClient, net: None) -> None:
        everything = all_pages(app, limit=500)
        got = all_pages(app, gpu_model="H100", region="eu-west", max_commission_bps=2_000, has_capacity=True)
        want = [
            i for i in everything
            if i["gpu_model"] == "H100" and i["region"] == "eu-west" and int(i["capacity_left"]) > 0
            and max(i["commission_bps"], i["pending_commission_bps"] or 0) <= 2_000
        ]  # fmt: skip
        assert sorted(i["node"] for i in got) == sorted(i["node"] for i in want)
        no_room = all_pages(app, has_capacity=False)
        assert no_room and all(i["capacity_left"] == "0" for i in no_room)
        assert all_pages(app, min_uptime_bps=0) == []  # no uptime data yet: nothing qualifies

    def test_every_field_of_the_issue_is_there(self, app: TestClient, net: None) -> None:
        body = app.get("/marketplace/nodes", params={"limit": 1}).json()
        assert body["as_of_slot"] == 55 and body["score_version"] == 1 and body["refreshed_at"] == NOW
        item = body["items"][0]
        for f in (
            "name", "gpu_model", "region", "record_status", "status", "total_stake", "operator_stake",
            "delegated_stake", "capacity_left", "commission_bps", "pending_commission_bps", "commission_effective_at",
            "uptime_24h_bps", "uptime_7d_bps", "uptime_30d_bps", "compute_7d_gpu_seconds", "rewards_24_epochs",
            "estimated_apy_bps", "slashes", "delegator_count", "score",
        ):  # fmt: skip
            assert f in item, f
        assert {c["name"] for c in item["score"]["components"]} == {"commission", "uptime", "age", "compute"}
        assert set(item["slashes"]) == {"count", "total", "last_reason", "last_slot", "last_at"}

    @pytest.mark.parametrize(
        "params",
        [
            {"sort": "nope"},
            {"cursor": "not-base64!"},
            {"cursor": "WyJzdGFrZSIsMSwieCJd"},  # a cursor made for sort=stake
            {"limit": 0},
            {"min_uptime_bps": 10_001},
            {"max_commission_bps": -1},
        ],
    )
    def test_bad_parameters_are_422(self, app: TestClient, net: None, params: dict) -> None:
        r = app.get("/marketplace/nodes", params=params)
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput", r.text

    def test_score_description(self, app: TestClient) -> None:
        doc = app.get("/marketplace/score").json()
        assert doc["version"] == 1 and sum(c["weight_bps"] for c in doc["components"]) == 10_000
        assert json.dumps(doc)  # serializable, published as is
