"""Deploy + initialize (backend/chain/deploy.py) through RPC."""

from __future__ import annotations

from pathlib import Path

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed

from backend.chain.deploy import bootstrap_step
from backend.chain.staking import StakingClient
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap


def test_deploy_defaults_are_in_base_units_of_the_mints_decimals(
    localnet: LocalnetNode, staking_so: Path, tmp_path: Path
) -> None:
    """A 6-decimal IO mint gets a 200 IO minimum stake per GPU, not 200 * 10**8 base units (issue 8's bug)."""
    run_bootstrap(
        localnet.rpc_url, tmp_path / "b.json", tmp_path / "keys", decimals=6, wallets=(), extra_steps=[bootstrap_step]
    )
    sc = StakingClient()
    info = Client(localnet.rpc_url).get_account_info(sc.config, Confirmed).value
    assert info is not None
    params = sc.decode_account(bytes(info.data)).params
    assert params.min_stake_per_gpu == 200 * 10**6
    assert params.max_epoch_rewards == 1_000_000 * 10**6
