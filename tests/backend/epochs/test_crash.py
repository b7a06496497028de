"""Crash safety: the runner is SIGKILLed at each step of a close (before and after the post is sent); after a
restart the root is the one of the inputs the epoch had, and exactly one post for the epoch is on chain."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from solana.rpc.commitment import Confirmed
from solders.signature import Signature
from sqlalchemy.orm import Session, sessionmaker

from backend.agent.runner import Agent
from backend.app import create_app
from backend.chain.staking import StakingClient
from backend.epochs import params as param_sets
from backend.epochs.clock import EpochClock
from backend.epochs.inputs import build_input
from backend.models.epochs import POSTED, Epoch
from backend.rewards.engine import compute_epoch
from tests.backend.epochs.conftest import Cluster, make_cluster
from tests.backend.epochs.crash_runner import POINTS
from tests.backend.epochs.helpers import EPOCH, GRACE, PARAMS, G, drive
from tests.backend.telemetry.world import add_node

REPO = Path(__file__).resolve().parents[3]
NOW = G + EPOCH + GRACE


def run_pass(cluster: Cluster, kill_at: str | None, now: int = NOW) -> subprocess.CompletedProcess[str]:
    s = cluster.settings
    cfg = {
        "settings": {
            "database_url": s.database_url, "rpc_url": s.rpc_url, "bootstrap_file": str(s.bootstrap_file),
            "epoch_genesis": s.epoch_genesis, "epoch_seconds": s.epoch_seconds,
            "epoch_grace_seconds": s.epoch_grace_seconds,
        },
        "now": now,
        "kill_at": kill_at,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tests.backend.epochs.crash_runner", json.dumps(cfg)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def posts_on_chain(cluster: Cluster, epoch: int) -> list[str]:
    """Signatures of transactions whose logs hold a RewardsRootPosted event for ``epoch``."""
    sc = StakingClient()
    sigs = cluster.client.get_signatures_for_address(sc.distributor, limit=1000, commitment=Confirmed).value
    found = []
    for entry in sigs:
        if entry.err is not None:
            continue
        txn = cluster.client.get_transaction(entry.signature, commitment=Confirmed, max_supported_transaction_version=0)
        logs = txn.value.transaction.meta.log_messages if txn.value else []
        for ev in sc.parse_events(list(logs or [])):
            if ev.name == "RewardsRootPosted" and int(ev.data.epoch) == epoch:
                found.append(str(entry.signature))
    return found


def block_height(cluster: Cluster) -> int:
    return int(cluster.client.get_block_height(Confirmed).value)


@pytest.fixture
def world(
    localnet_factory: Any, staking_so: Path, tmp_path: Path, db_url: str, db_engine: Any,
    session_factory: sessionmaker[Session], request: pytest.FixtureRequest,
) -> tuple[Cluster, str]:  # fmt: skip
    """The cluster (slot length from the test's ``slot_ms`` marker), two nodes with a full epoch of heartbeats,
    and the root the epoch's inputs give (computed here, in memory)."""
    marker = request.node.get_closest_marker("slot_ms")
    node = localnet_factory(slot_ms=marker.args[0] if marker else 250)
    cluster = make_cluster(node.rpc_url, tmp_path, db_url)
    w = {n: str(k.pubkey()) for n, k in cluster.wallets.items()}
    with session_factory.begin() as db:
        param_sets.put(db, PARAMS, 0, "tests")
        a = add_node(db, operator=w["alice"], stake=[(w["alice"], 10**11), (w["carol"], 10**10)])
        b = add_node(db, operator=w["bob"], gpu_model="RTX4090", gpu_units=2, stake=[(w["bob"], 10**11)])
        db.add(Epoch(epoch=0, state="open", start_time=G, end_time=G + EPOCH, post_attempts=0, updated_at=G))
    with TestClient(create_app(cluster.settings)) as client:
        agents = {"a": Agent(a.keypair, client, "A100", 8), "b": Agent(b.keypair, client, "RTX4090", 2)}
        drive(client, agents, range(0, 6), lambda n, m: True)
    with session_factory() as db:
        built = build_input(db, cluster.settings, EpochClock(G, EPOCH, GRACE), 0, 8, None, None)
    return cluster, compute_epoch(orjson.loads(orjson.dumps(built.doc))).merkle_root.hex()


def check_exactly_once(cluster: Cluster, root: str, session_factory: sessionmaker[Session]) -> Epoch:
    with session_factory() as s:
        row = s.get(Epoch, 0)
    assert row is not None and row.state == POSTED and row.merkle_root == root
    assert posts_on_chain(cluster, 0) == [row.post_signature]
    d = StakingClient().decode_account(
        bytes(cluster.client.get_account_info(StakingClient().distributor, Confirmed).value.data)  # type: ignore[union-attr]
    )
    assert (int(d.latest_epoch), bytes(d.latest_root).hex(), int(d.roots_posted)) == (0, root, 1)
    assert cluster.io_balance(cluster.boot["epochs"]["community_treasury"]) == row.community  # moved once
    assert cluster.io_balance(cluster.boot["staking"]["rewards_vault"]) == row.cumulative_total
    return row


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_killed_at_each_step_then_restarted_posts_the_same_root_once(
    world: tuple[Cluster, str], session_factory: sessionmaker[Session], point: str
) -> None:
    cluster, root = world
    killed = run_pass(cluster, point)
    assert killed.returncode == -9, killed.stderr[-2000:]
    with session_factory() as s:
        recorded = s.get(Epoch, 0).post_signature  # type: ignore[union-attr]
    restarted = run_pass(cluster, None, NOW + 1)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    row = check_exactly_once(cluster, root, session_factory)
    if point in ("before_send", "after_send", "after_confirm"):
        # the recorded transaction is the one on chain: looked up, or the same bytes sent again (same signature)
        assert recorded is not None and row.post_signature == recorded
    assert run_pass(cluster, None, NOW + 2).returncode == 0  # a third pass changes nothing
    assert check_exactly_once(cluster, root, session_factory).post_signature == row.post_signature


@pytest.mark.slow
@pytest.mark.slot_ms(50)  # a 150-slot blockhash window of 7.5 s
@pytest.mark.parametrize("point", ["before_send", "after_send"])
def test_restart_after_the_blockhash_expired(
    world: tuple[Cluster, str], session_factory: sessionmaker[Session], point: str
) -> None:
    """Not sent and expired: built anew (after reading the Distributor). Sent and expired: found, not resent."""
    cluster, root = world
    assert run_pass(cluster, point).returncode == -9
    with session_factory() as s:
        row = s.get(Epoch, 0)
        assert row is not None and row.post_signature is not None
        recorded, last_valid = row.post_signature, row.post_last_valid_block_height or 0
    deadline = time.monotonic() + 60
    while block_height(cluster) <= last_valid:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert run_pass(cluster, None, NOW + 1).returncode == 0
    row = check_exactly_once(cluster, root, session_factory)
    landed = cluster.client.get_signature_statuses([Signature.from_string(recorded)], True).value[0]
    if point == "before_send":
        assert landed is None and row.post_signature != recorded
    else:
        assert landed is not None and row.post_signature == recorded
