"""A cluster for the epoch tests: the embedded node with the staking program deployed and initialized, the
community treasury, the demo wallets (alice, bob, carol), and a database on this test's schema."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session, sessionmaker

from backend.agent.runner import Agent
from backend.app import create_app
from backend.chain.deploy import bootstrap_step
from backend.chain.epoch_setup import epochs_step
from backend.chain.keys import load_keypair
from backend.config import Settings
from backend.epochs import params as param_sets
from backend.epochs.clock import EpochClock
from backend.epochs.runner import EpochRunner
from backend.models.staking import StakePosition
from tests.backend.epochs.helpers import EPOCH, GRACE, PARAMS, G, wrong_solver
from tests.backend.epochs.helpers import settings as make_settings
from tests.backend.telemetry.world import add_node
from tests.fixtures.localnet import run_bootstrap


@dataclass
class Cluster:
    """What a test needs of the cluster."""

    rpc_url: str
    boot: dict[str, Any]
    boot_file: Path
    wallets: dict[str, Keypair]
    client: Client
    settings: Settings

    def io_balance(self, token_account: str) -> int:
        info = self.client.get_token_account_balance(Pubkey.from_string(token_account), Confirmed)
        return int(info.value.amount)

    def wallet_io(self, name: str) -> int:
        w = next(w for w in self.boot["wallets"] if w["name"] == name)
        return self.io_balance(w["io_account"])


def make_cluster(rpc_url: str, tmp_path: Path, db_url: str, **overrides: Any) -> Cluster:
    boot_file = tmp_path / "boot.json"
    boot = run_bootstrap(
        rpc_url, boot_file, tmp_path / "keys", extra_steps=[bootstrap_step, epochs_step(boot_file)]
    )
    wallets = {w["name"]: load_keypair(Path(w["keypair_path"])) for w in boot["wallets"]}
    s = make_settings(db_url, rpc_url=rpc_url, bootstrap_file=boot_file, **overrides)
    return Cluster(rpc_url, boot, boot_file, wallets, Client(rpc_url, timeout=30), s)


@pytest.fixture
def db_world(db_url: str, db_engine: Any, session_factory: sessionmaker[Session]) -> Iterator[dict[str, Any]]:
    """Three nodes in the database (no chain) with agents: healthy, flaky (the test decides when it is up),
    failing its challenges; a delegation on the healthy node; a runner without chain I/O."""
    s = make_settings(db_url)
    delegator = str(Keypair().pubkey())
    with session_factory.begin() as db:
        param_sets.put(db, PARAMS, 0, "tests: short epochs")
        healthy = add_node(db, gpu_model="A100", gpu_units=8)
        flaky = add_node(db, gpu_model="RTX4090", gpu_units=2)
        failing = add_node(db, gpu_model="H100", gpu_units=1)
    with session_factory.begin() as db:  # a delegation on the healthy node
        db.add(StakePosition(node=healthy.node, owner=delegator, shares=5 * 10**11, bonded=5 * 10**11))
    with TestClient(create_app(s)) as client:
        agents = {
            "healthy": Agent(healthy.keypair, client, "A100", 8),
            "flaky": Agent(flaky.keypair, client, "RTX4090", 2),
            "failing": Agent(failing.keypair, client, "H100", 1, solver=wrong_solver),
        }
        runner = EpochRunner(session_factory, s, EpochClock(G, EPOCH, GRACE), None, 8, None)
        yield {"client": client, "agents": agents, "runner": runner, "nodes": (healthy, flaky, failing),
               "delegator": delegator}  # fmt: skip


@pytest.fixture
def cluster(localnet: Any, staking_so: Path, tmp_path: Path, db_url: str, db_engine: Any) -> Cluster:
    return make_cluster(localnet.rpc_url, tmp_path, db_url)
