"""Staking API over rows written as the indexer writes them: nodes, node positions, wallet positions."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session, sessionmaker

from backend.models.indexer import ProgramEvent
from backend.models.staking import StakePosition, StakeUnbondingEntry, StakingNode

BIG = 2**60 + 7  # above 2**53: a float would lose the low digits
OP = 2**58 + 3
T0 = 1_800_000_000


def key() -> str:
    return str(Pubkey.new_unique())


def add_node(session: Session, operator: str, total: int, op_bonded: int, **kw: object) -> str:
    node = key()
    session.add(StakingNode(node=node, operator=operator, total_stake=total, total_shares=total, **kw))
    session.add(StakePosition(node=node, owner=operator, shares=op_bonded, bonded=op_bonded))
    fields = {"node": node, "operator": operator, "nodeKey": key(), "gpuUnits": 8, "commissionBps": 500}
    session.add(
        ProgramEvent(
            signature=f"sig-{node}", ix_path="1", event_index=0, slot=5, program_id=key(), name="NodeRegistered",
            subject=node, owner=operator, fields=json.dumps(fields), raw="", status="finalized",
        )
    )  # fmt: skip
    return node


@pytest.fixture
def network(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """Two nodes: a big one with a delegator (and an unbonding position) and a small inactive one."""
    operator, delegator = key(), key()
    with session_factory.begin() as s:
        big = add_node(
            s, operator, BIG, OP, commission_bps=500, pending_commission_bps=800, commission_effective_at=T0,
            unbonding_stake=BIG, unbonding_shares=BIG, slashed_total=3,
        )  # fmt: skip
        s.add(
            StakePosition(
                node=big, owner=delegator, shares=BIG - OP, bonded=BIG - OP, unbonding_shares=BIG, unbonding=BIG,
                unlock_time=T0, withdrawn=2**55,
            )
        )  # fmt: skip
        s.add(
            StakeUnbondingEntry(
                node=big, owner=delegator, signature="req-1", event_index=0, slot=7, amount=BIG, shares=BIG,
                value=BIG, unlock_time=T0,
            )
        )  # fmt: skip
        small = add_node(s, operator, 10, 10, commission_bps=100, active=False)
    return {"big": big, "small": small, "operator": operator, "delegator": delegator}


class TestNodes:
    def test_amounts_above_2_53_survive_exactly_as_strings(self, client: TestClient, network: dict) -> None:
        body = client.get("/nodes").json()
        assert body["total"] == 2
        big = body["items"][0]
        assert big["node"] == network["big"]
        assert big["total_stake"] == str(BIG) and isinstance(big["total_stake"], str)
        assert big["unbonding_stake"] == str(BIG)
        assert big["operator_stake"] == str(OP)
        assert big["delegated_stake"] == str(BIG - OP)
        assert big["delegated_share_bps"] == (BIG - OP) * 10_000 // BIG
        assert big["slashed_total"] == "3"
        assert big["gpu_units"] == 8 and big["positions"] == 2 and big["status"] == "active"

    def test_largest_stake_first_and_inactive_status(self, client: TestClient, network: dict) -> None:
        items = client.get("/nodes").json()["items"]
        assert [n["node"] for n in items] == [network["big"], network["small"]]
        assert items[1]["status"] == "inactive" and items[1]["delegated_share_bps"] == 0

    def test_scheduled_commission_takes_effect_at_its_time(self, client: TestClient, network: dict) -> None:
        before = client.get(f"/nodes/{network['big']}", params={"at": T0 - 1}).json()
        after = client.get(f"/nodes/{network['big']}", params={"at": T0}).json()
        assert (before["commission_bps"], before["pending_commission_bps"]) == (500, 800)
        assert before["commission_effective_at"] == T0
        assert (after["commission_bps"], after["pending_commission_bps"]) == (800, None)

    def test_unknown_node_is_404(self, client: TestClient, network: dict) -> None:
        for path in (f"/nodes/{key()}", f"/nodes/{key()}/positions"):
            r = client.get(path)
            assert r.status_code == 404 and r.json()["error"] == "NotFound"

    @pytest.mark.parametrize("bad", ["abc", "0" * 44, "1" * 45, "O" + "1" * 31, "x" * 200])
    def test_malformed_node_key_is_422_naming_node(self, client: TestClient, network: dict, bad: str) -> None:
        for path in (f"/nodes/{bad}", f"/nodes/{bad}/positions"):
            r = client.get(path)
            assert r.status_code == 422
            assert r.json()["error"] == "InvalidInput" and r.json()["detail"].startswith("node:")


class TestPagination:
    def test_window_moves_and_total_stays(self, client: TestClient, network: dict) -> None:
        page = client.get("/nodes", params={"limit": 1, "offset": 1}).json()
        assert [n["node"] for n in page["items"]] == [network["small"]]
        assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
        assert client.get("/nodes", params={"offset": 2}).json()["items"] == []

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"offset": -1}, "offset"),
            ({"offset": 10**10}, "offset"),
        ],
    )
    def test_out_of_bounds_is_422_naming_the_parameter(
        self, client: TestClient, network: dict, params: dict, name: str
    ) -> None:
        for path in ("/nodes", f"/nodes/{network['big']}/positions"):
            r = client.get(path, params=params)
            assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
            assert r.json()["detail"].startswith(f"{name}:")

    def test_bounds_themselves_are_accepted(self, client: TestClient, network: dict) -> None:
        assert client.get("/nodes", params={"limit": 500, "offset": 0}).status_code == 200
        assert len(client.get("/nodes", params={"limit": 1}).json()["items"]) == 1


class TestPositions:
    def test_node_positions_largest_bonded_first(self, client: TestClient, network: dict) -> None:
        body = client.get(f"/nodes/{network['big']}/positions").json()
        assert body["total"] == 2
        assert [p["owner"] for p in body["items"]] == [network["delegator"], network["operator"]]
        assert body["items"][0]["bonded"] == str(BIG - OP)

    def test_unbonding_becomes_withdrawable_at_unlock_time(self, client: TestClient, network: dict) -> None:
        url = f"/wallets/{network['delegator']}/positions"
        locked = client.get(url, params={"at": T0 - 1}).json()
        free = client.get(url, params={"at": T0}).json()
        (p,) = locked["positions"]
        assert (p["unbonding"], p["unlock_time"], p["withdrawable"]) == (str(BIG), T0, "0")
        assert p["withdrawn"] == str(2**55)
        assert (locked["bonded"], locked["unbonding"], locked["withdrawable"]) == (str(BIG - OP), str(BIG), "0")
        assert free["withdrawable"] == str(BIG) and free["positions"][0]["withdrawable"] == str(BIG)
        assert free["positions"][0]["entries"] == [
            {"amount": str(BIG), "value": str(BIG), "unlock_time": T0, "withdrawable": True, "signature": "req-1"}
        ]
        assert locked["positions"][0]["entries"][0]["withdrawable"] is False

    def test_each_entry_unlocks_on_its_own_and_withdrawable_is_what_withdraw_pays(
        self, client: TestClient, session_factory: sessionmaker[Session]
    ) -> None:
        # an unbonding pool of 271 for 300 shares: each entry of 100 shares is worth floor(100 * 271 / 300) = 90...
        owner = key()
        with session_factory.begin() as s:
            node = add_node(s, key(), 1_000, 1_000, unbonding_stake=271, unbonding_shares=300)
            s.add(
                StakePosition(
                    node=node, owner=owner, unbonding_shares=300, unbonding=271, unlock_time=T0,
                )
            )  # fmt: skip
            for i, unlock in enumerate((T0, T0 + 10, T0 + 20)):
                s.add(
                    StakeUnbondingEntry(
                        node=node, owner=owner, signature=f"req-{i}", event_index=0, slot=10 + i, amount=100,
                        shares=100, value=90, unlock_time=unlock,
                    )
                )  # fmt: skip
        url = f"/wallets/{owner}/positions"
        steps = {T0 - 1: ("0", [False] * 3), T0: ("90", [True, False, False]), T0 + 10: ("180", [True, True, False])}
        for at, (amount, flags) in steps.items():
            (p,) = client.get(url, params={"at": at}).json()["positions"]
            assert p["withdrawable"] == amount and [e["withdrawable"] for e in p["entries"]] == flags
            assert [e["signature"] for e in p["entries"]] == ["req-0", "req-1", "req-2"]
        # ...and once all have unlocked, withdraw pays the whole pool (271), not 3 x 90
        (p,) = client.get(url, params={"at": T0 + 20}).json()["positions"]
        assert p["withdrawable"] == "271" and p["unbonding"] == "271"

    def test_wallet_sums_across_nodes_exactly(self, client: TestClient, network: dict) -> None:
        body = client.get(f"/wallets/{network['operator']}/positions").json()
        assert {p["node"] for p in body["positions"]} == {network["big"], network["small"]}
        assert body["bonded"] == str(OP + 10) and body["withdrawable"] == "0"

    def test_wallet_without_positions_is_empty_not_an_error(self, client: TestClient, network: dict) -> None:
        body = client.get(f"/wallets/{key()}/positions").json()
        assert body["positions"] == [] and body["bonded"] == "0"

    def test_malformed_wallet_is_422_naming_wallet(self, client: TestClient, network: dict) -> None:
        r = client.get("/wallets/not-a-key/positions")
        assert r.status_code == 422 and r.json()["detail"].startswith("wallet:")

    def test_negative_time_is_422_naming_at(self, client: TestClient, network: dict) -> None:
        r = client.get(f"/wallets/{network['operator']}/positions", params={"at": -1})
        assert r.status_code == 422 and r.json()["detail"].startswith("at:")
