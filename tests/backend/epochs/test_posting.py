"""Posting on the embedded node: the root and its funding, the community share in the same transaction,
missed epochs, and claims through the `claim` transaction request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.transaction import Transaction
from sqlalchemy.orm import Session, sessionmaker

from backend.agent.runner import Agent
from backend.app import create_app
from backend.chain import tx
from backend.epochs import params as param_sets
from backend.epochs.runner import EpochRunner, make_runner
from backend.models.epochs import POSTED, SUPERSEDED, Epoch, EpochDocument
from tests.backend.epochs.conftest import Cluster
from tests.backend.epochs.helpers import EPOCH, GRACE, PARAMS, G, drive
from tests.backend.telemetry.world import add_node

STAKE = 10**11  # 1,000 IO


@pytest.fixture
def net(cluster: Cluster, session_factory: sessionmaker[Session]) -> Iterator[dict[str, Any]]:
    w = {n: str(k.pubkey()) for n, k in cluster.wallets.items()}
    with session_factory.begin() as db:
        param_sets.put(db, PARAMS, 0, "tests")
        a = add_node(db, operator=w["alice"], stake=[(w["alice"], STAKE), (w["carol"], STAKE // 2)])
        b = add_node(db, operator=w["bob"], gpu_model="RTX4090", gpu_units=2, stake=[(w["bob"], STAKE)])
    with TestClient(create_app(cluster.settings)) as client:
        agents = {"a": Agent(a.keypair, client, "A100", 8), "b": Agent(b.keypair, client, "RTX4090", 2)}
        yield {"client": client, "agents": agents, "nodes": (a, b)}


def claim(cluster: Cluster, client: TestClient, name: str) -> Any:
    kp = cluster.wallets[name]
    r = client.post("/tx/claim", json={"account": str(kp.pubkey())})
    if r.status_code != 200:
        return r
    msg = Transaction.from_bytes(base64.b64decode(r.json()["transaction"])).message
    signed = Transaction([kp], msg, msg.recent_blockhash)
    sig = cluster.client.send_raw_transaction(bytes(signed)).value
    tx.confirm(cluster.client, [sig], commitment=Confirmed)
    return r


def distributor(cluster: Cluster, runner: EpochRunner) -> Any:
    assert runner.chain is not None
    return runner.chain.distributor()


def test_post_funds_the_vault_moves_the_community_share_and_every_wallet_claims(
    cluster: Cluster, net: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    client = net["client"]
    runner = make_runner(cluster.settings, session_factory)
    runner.open_current(G)
    r = client.post("/tx/claim", json={"account": str(cluster.wallets["alice"].pubkey())})
    assert r.status_code == 409 and r.json()["error"] == "no_rewards_posted"

    drive(client, net["agents"], range(0, 6), lambda n, m: True)
    vault, community_account = cluster.boot["staking"]["rewards_vault"], cluster.boot["epochs"]["community_treasury"]
    reserve_before = cluster.io_balance(cluster.boot["emission_reserve"])
    report = runner.tick(G + EPOCH + GRACE)
    assert report.closed == [0] and report.posted == 0
    with session_factory() as s:
        row = s.get(Epoch, 0)
        assert row is not None and row.state == POSTED and row.post_signature
        out = orjson.loads(s.get(EpochDocument, (0, row.inputs_sha256)).output)  # type: ignore[union-attr]
    d = distributor(cluster, runner)
    assert (d.latest_epoch, d.latest_root.hex(), d.cumulative_total) == (0, row.merkle_root, row.cumulative_total)
    assert cluster.io_balance(vault) == row.cumulative_total == row.post_funding == row.payouts_total
    assert cluster.io_balance(community_account) == row.community == row.post_community > 0
    # the reserve paid exactly funding + community; the unallocated part stays in it
    assert reserve_before - cluster.io_balance(cluster.boot["emission_reserve"]) == row.post_funding + row.community

    totals = {t["wallet"]: int(t["cumulative"]) for t in out["totals"]}
    assert set(totals) == {str(k.pubkey()) for k in cluster.wallets.values()}
    for name, kp in cluster.wallets.items():
        before = cluster.wallet_io(name)
        r = claim(cluster, client, name)
        assert r.status_code == 200, r.text
        assert cluster.wallet_io(name) - before == totals[str(kp.pubkey())]
        again = client.post("/tx/claim", json={"account": str(kp.pubkey())})
        assert again.status_code == 409 and again.json()["error"] == "NothingToClaim"
    stranger = client.post("/tx/claim", json={"account": str(Keypair().pubkey())})
    assert stranger.status_code == 409 and stranger.json()["error"] == "NothingToClaim"
    assert cluster.io_balance(vault) == 0


def test_missed_epochs_are_all_stored_and_only_the_newest_is_posted(
    cluster: Cluster, net: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    offline = make_runner(cluster.settings, session_factory, with_chain=False)
    offline.open_current(G)
    drive(net["client"], net["agents"], range(0, 11), lambda n, m: True)
    assert offline.tick(G + 2 * EPOCH + GRACE).closed == [0, 1]  # closed while the chain was not used
    runner = make_runner(cluster.settings, session_factory)
    assert runner.tick(G + 2 * EPOCH + GRACE + 5).posted == 1
    with session_factory() as s:
        e0, e1 = s.get(Epoch, 0), s.get(Epoch, 1)
        assert e0 is not None and e1 is not None
        assert (e0.state, e0.posted_in, e1.state, e1.posted_in) == (SUPERSEDED, 1, POSTED, 1)
        assert e1.post_community == (e0.community or 0) + (e1.community or 0)
        assert e1.post_funding == e1.cumulative_total  # nothing was on chain before
    d = distributor(cluster, runner)
    assert (d.latest_epoch, d.roots_posted) == (1, 1)
    assert cluster.io_balance(cluster.boot["epochs"]["community_treasury"]) == e1.post_community
    assert runner.tick(G + 2 * EPOCH + GRACE + 6).posted is None  # nothing new to post


def test_a_refused_post_is_dropped_and_retried(
    cluster: Cluster, net: dict[str, Any], session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = make_runner(cluster.settings, session_factory)
    runner.open_current(G)
    drive(net["client"], net["agents"], range(0, 6), lambda n, m: True)
    assert runner.chain is not None
    real = runner.chain.build_post

    def wrong_funding(epoch: int, root: bytes, total: int, funding: int, community: int) -> Any:
        return real(epoch, root, total, funding - 1, community)  # underfunded: VaultUnderfunded at preflight

    monkeypatch.setattr(runner.chain, "build_post", wrong_funding)
    assert runner.tick(G + EPOCH + GRACE).posted is None
    with session_factory() as s:
        row = s.get(Epoch, 0)
        assert row is not None and row.post_signature is None and "VaultUnderfunded" in (row.error or "")
    monkeypatch.undo()
    assert runner.tick(G + EPOCH + GRACE + 1).posted == 0
    assert distributor(cluster, runner).roots_posted == 1


