"""A cluster for the epoch tests: the embedded node with the staking program deployed and initialized, the
community treasury, the demo wallets (alice, bob, carol), and a database on this test's schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain.deploy import bootstrap_step
from backend.chain.epoch_setup import epochs_step
from backend.chain.keys import load_keypair
from backend.config import Settings
from tests.backend.epochs.helpers import settings as make_settings
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
def cluster(localnet: Any, staking_so: Path, tmp_path: Path, db_url: str, db_engine: Any) -> Cluster:
    return make_cluster(localnet.rpc_url, tmp_path, db_url)
