"""GET /wallets/{w} over indexer-shaped rows: positions per node with unlock time, withdrawable at `at`, the node's
pending commission, registry names, as_of_slot; the IO balance read from the chain (here unreachable: said so)."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from tests.backend.nodes import rows as R

T = 1_800_000_000


@pytest.fixture
def app(client: TestClient) -> TestClient:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    client.app.state.settings = Settings(program_id=R.PROGRAM, rpc_url=dead, _env_file=None)  # type: ignore[call-arg]
    return client


def test_positions_unlocks_and_pending_commission(app: TestClient, session_factory: sessionmaker[Session]) -> None:
    wallet = R.key()
    rows = R.empty_rows()
    a = R.add_node(rows, commission=500, pending=(900, T + 100), record={"name": "rig-a"})
    b = R.add_node(rows, commission=300, active=False)
    for node, bonded, unbonding, unlock in ((a["node"], 70, 30, T + 50), (b["node"], 0, 10, T - 5)):
        R.add_unbonding(rows, node, wallet, unbonding, unlock, bonded=bonded)
    with session_factory.begin() as s:
        R.write(s, rows, synced_slot=99)
    body = app.get(f"/wallets/{wallet}", params={"at": T}).json()
    assert (body["as_of_slot"], body["at"]) == (99, T)
    assert body["rewards"] == {"lifetime_total": "0", "claimed": "0", "claimable": "0", "latest_epoch": None}
    assert (body["bonded"], body["unbonding"], body["withdrawable"]) == ("70", "40", "10")
    by_node = {p["node"]: p for p in body["positions"]}
    pa, pb = by_node[a["node"]], by_node[b["node"]]
    assert (pa["node_name"], pa["node_key"], pa["unlock_time"], pa["withdrawable"]) == (
        "rig-a",
        a["node_key"],
        T + 50,
        "0",
    )
    assert pa["commission_bps"] == 500 and pa["pending_commission"] == {"bps": 900, "effective_at": T + 100}
    assert pa["entries"] == [{"amount": "30", "value": "30", "unlock_time": T + 50, "withdrawable": False}]
    assert (pb["node_status"], pb["withdrawable"], pb["pending_commission"], pb["node_name"]) == (
        "inactive",
        "10",
        None,
        None,
    )
    later = app.get(f"/wallets/{wallet}", params={"at": T + 100}).json()
    la = {p["node"]: p for p in later["positions"]}[a["node"]]
    assert (la["commission_bps"], la["pending_commission"], la["withdrawable"]) == (900, None, "30")
    # the cluster cannot be read: the balance says so, the indexed positions are still served
    assert body["io_balance"]["amount"] is None and "cannot read" in body["io_balance"]["error"]


def test_a_wallet_without_positions_and_bad_input(app: TestClient) -> None:
    body = app.get(f"/wallets/{R.key()}").json()
    assert body["positions"] == [] and body["bonded"] == "0" and body["as_of_slot"] is None
    assert app.get("/wallets/not-a-key").status_code == 422
    assert app.get(f"/wallets/{R.key()}", params={"at": -1}).status_code == 422


def test_balance_from_the_chain(net: object) -> None:
    import httpx

    from tests.backend.nodes.conftest import Net

    assert isinstance(net, Net)
    alice = str(net.wallets["alice"].pubkey())
    body = httpx.get(net.url(f"/wallets/{alice}")).json()
    bal = body["io_balance"]
    assert (bal["amount"], bal["source"], bal["commitment"]) == (str(net.io("alice")), "chain", "confirmed")
    assert bal["slot"] > 0 and bal["error"] is None
    assert body["positions"] == [] and body["as_of_slot"] is None  # no indexer runs in this test
