"""The demo seed step over JSON-RPC on the embedded localnet: nodes, self-stake and delegation, run twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain import tx
from backend.chain.demo import DEMO_NODES, OPERATOR_STAKE_MULTIPLE, DemoSeedError, seed_demo_step
from backend.chain.deploy import bootstrap_step
from backend.chain.staking import STATUS_ACTIVE, ConfigParams, StakingClient
from tests.fixtures.localnet import run_bootstrap


def account(client: Client, sc: StakingClient, address: str) -> Any:
    info = client.get_account_info(Pubkey.from_string(address), Confirmed).value
    assert info is not None, f"{address} missing on chain"
    return sc.decode_account(bytes(info.data))


def test_demo_seed_registers_stakes_delegates_once(localnet: Any, staking_so: Path, tmp_path: Path) -> None:
    steps = [bootstrap_step, seed_demo_step]
    out, keys = tmp_path / "boot.json", tmp_path / "keys"
    first = run_bootstrap(localnet.rpc_url, out, keys, extra_steps=steps)
    second = run_bootstrap(localnet.rpc_url, out, keys, extra_steps=steps)
    assert first["sent_transactions"], "the first run registers and stakes"
    assert second["sent_transactions"] == [], "a second run must send nothing"
    assert {k: v for k, v in first.items() if k != "sent_transactions"} == {
        k: v for k, v in second.items() if k != "sent_transactions"
    }

    client = Client(localnet.rpc_url, timeout=30)
    sc = StakingClient(Pubkey.from_string(first["staking"]["program_id"]))
    params = account(client, sc, str(sc.config)).params
    wallets = {w["name"]: w["pubkey"] for w in first["wallets"]}
    demo = first["demo"]
    assert [n["name"] for n in demo["nodes"]] == [s.name for s in DEMO_NODES]
    nodes = {n["name"]: n for n in demo["nodes"]}
    assert nodes["alpha"]["operator"] == wallets["alice"] and nodes["beta"]["operator"] == wallets["bob"]
    assert nodes["alpha"]["gpu_units"] != nodes["beta"]["gpu_units"]
    assert nodes["alpha"]["commission_bps"] != nodes["beta"]["commission_bps"]
    for row in demo["nodes"]:
        assert (keys / f"node-{row['name']}.json").exists()
        node = account(client, sc, row["node"])
        assert str(node.node_key) == row["node_key"] and str(node.operator) == row["operator"]
        assert str(sc.node(node.node_key)) == row["node"]
        assert (node.gpu_units, node.commission_bps) == (row["gpu_units"], row["commission_bps"])
        assert node.status == STATUS_ACTIVE and node.total_stake == row["total_stake"]
        # every position on the node is listed, and they add up to the node's bonded stake
        on_node = [p for p in demo["positions"] if p["node"] == row["node"]]
        assert sum(p["stake"] for p in on_node) == node.total_stake
        op_pos = next(p for p in on_node if not p["delegated"])
        assert op_pos["owner"] == row["operator"]
        assert op_pos["stake"] == OPERATOR_STAKE_MULTIPLE * params.min_stake_per_gpu * node.gpu_units
        assert node.operator_shares == op_pos["shares"]

    delegations = [p for p in demo["positions"] if p["delegated"]]
    assert [(p["wallet"], p["node_name"]) for p in delegations] == [("carol", "alpha")]
    carol = delegations[0]
    pos = account(client, sc, carol["position"])
    assert str(pos.owner) == wallets["carol"] and pos.shares == carol["shares"] > 0
    alpha = account(client, sc, nodes["alpha"]["node"])
    assert 0 < carol["stake"] * 10_000 <= alpha.total_stake * params.max_delegation_bps
    # the demo wallets keep the SOL and liquid IO the bootstrap gave them (stake and rent are minted/refunded)
    for w in first["wallets"]:
        assert client.get_balance(Pubkey.from_string(w["pubkey"]), Confirmed).value == 10 * 10**9
        io = client.get_token_account_balance(Pubkey.from_string(w["io_account"]), Confirmed).value.amount
        assert int(io) == 1_000_000 * 10**8
    vault_account = Pubkey.from_string(first["staking"]["stake_vault"])
    vault = int(client.get_token_account_balance(vault_account, Confirmed).value.amount)  # as the reads above
    assert vault == sum(n["total_stake"] for n in demo["nodes"])

    # The admin raises min_stake_per_gpu above what the operators hold: a re-run tops up both operators (and
    # only them: carol's position exists), then the run after that sends nothing again.
    admin = Keypair.from_bytes(bytes(json.loads(Path(first["staking"]["admin_keypair_path"]).read_text())))
    raised = ConfigParams(**{**params.__dict__, "min_stake_per_gpu": 3 * params.min_stake_per_gpu})
    tx.send_and_confirm(client, admin, [sc.update_config(admin.pubkey(), raised)], [], commitment=Confirmed)
    third = run_bootstrap(localnet.rpc_url, out, keys, extra_steps=steps)
    assert len(third["sent_transactions"]) == 2
    for row in third["demo"]["positions"]:
        node = next(n for n in third["demo"]["nodes"] if n["node"] == row["node"])
        before = next(p for p in demo["positions"] if p["position"] == row["position"])
        want = OPERATOR_STAKE_MULTIPLE * raised.min_stake_per_gpu * node["gpu_units"]
        assert row["stake"] == (before["stake"] if row["delegated"] else want)
    assert run_bootstrap(localnet.rpc_url, out, keys, extra_steps=steps)["sent_transactions"] == []


def test_demo_seed_refuses_without_staking_and_sends_nothing(localnet: Any, tmp_path: Path) -> None:
    with pytest.raises(DemoSeedError, match="staking program"):
        run_bootstrap(localnet.rpc_url, tmp_path / "b.json", tmp_path / "keys", extra_steps=[seed_demo_step])
    assert not list((tmp_path / "keys").glob("node-*.json"))


def test_demo_seed_needs_three_wallets(localnet: Any, staking_so: Path, tmp_path: Path) -> None:
    steps = [bootstrap_step, seed_demo_step]
    with pytest.raises(DemoSeedError, match="needs 3 demo wallets, got 2"):
        run_bootstrap(localnet.rpc_url, tmp_path / "b.json", tmp_path / "keys", wallets=("a", "b"), extra_steps=steps)
    assert not list((tmp_path / "keys").glob("node-*.json"))
