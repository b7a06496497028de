"""An operator and delegators act from their wallets on the embedded localnet, through the HTTP API only, with
the real indexer (``iog indexer run``) bringing finalized state to the API. Keypairs stand in for wallets;
the operator signs in and signs with the `iog` commands a person would use.

Set-up that is not a user action: the staking admin shortens the cooldown to 3 s (update_config), and the test
runs the nodes jobs (``refresh_node_stats``) as the scheduler would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.pubkey import Pubkey
from sqlalchemy import Engine

from backend.config import Settings
from backend.db import make_sessionmaker, session_scope, snapshot_reads
from backend.nodes.tasks import read_stats, refresh_node_stats, sync_registry
from tests.backend.nodes.conftest import IO, Net

IOG = str(Path(sys.executable).with_name("iog"))
COOLDOWN = 3


def iog(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run an `iog` command as a person would; its stdout (fails the test with its output otherwise)."""
    proc = subprocess.run(
        [IOG, *args], input=stdin, env={**os.environ, "COLUMNS": "250", **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, f"iog {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def until(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def indexer(cli_net: Net, db_url: str) -> Iterator[None]:
    net = cli_net
    env = {
        **os.environ, "IOG_DATABASE_URL": db_url, "IOG_RPC_URL": net.rpc, "IOG_WS_URL": net.ws,
        "IOG_BOOTSTRAP_FILE": str(net.boot_file), "IOG_DATA_DIR": str(net.boot_file.parent),
        "IOG_INDEXER_POLL_SECONDS": "0.2",
    }  # fmt: skip
    proc = subprocess.Popen([IOG, "indexer", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_operator_and_delegators_through_the_api(
    cli_net: Net, indexer: None, db_engine: Engine, tmp_path: Path
) -> None:
    net = cli_net
    net.set_params(cooldown_seconds=COOLDOWN)
    env = {"IOG_RPC_URL": net.rpc, "IOG_BOOTSTRAP_FILE": str(net.boot_file), "IOG_DATA_DIR": str(tmp_path),
           "IOG_API_URI": net.api.url}  # fmt: skip
    api = httpx.Client(base_url=net.api.url, timeout=60)
    alice, bob = str(net.wallets["alice"].pubkey()), str(net.wallets["bob"].pubkey())
    factory = make_sessionmaker(db_engine)
    settings = Settings(bootstrap_file=net.boot_file, rpc_url=net.rpc, _env_file=None)  # type: ignore[call-arg]

    def scheduler_pass() -> None:
        with session_scope(factory) as s:
            sync_registry(s, int(time.time()))
        with session_scope(factory) as s:  # as nodes_pass: read one snapshot while the indexer keeps writing
            snapshot_reads(s)
            inputs = read_stats(s, settings, int(time.time()))
        with session_scope(factory) as s:
            refresh_node_stats(s, settings, int(time.time()), inputs)

    # 1. the operator signs in (SIWS) with `iog wallet login`
    token = iog(env, "wallet", "login", "alice").strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/auth/me", headers=auth).json()["address"] == alice

    # 2. registers a node: the API builds, the node key signs first, then the operator's wallet signs and sends
    node_key_file = tmp_path / "node.json"
    node_key = iog(env, "agent", "keygen", "--out", str(node_key_file)).strip()
    r = api.post("/nodes", headers=auth, json={
        "node_key": node_key, "name": "rig-1", "gpu_model": "H100", "gpu_units": 2, "vram_gb": 80,
        "region": "eu-west", "description": "two H100", "commission_bps": 500,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    created = r.json()
    node = created["record"]["node"]
    assert created["record"]["status"] == "draft" and created["signers"] == [alice, node_key]
    signed_by_node = iog(env, "agent", "sign-registration", "--key", str(node_key_file), "--tx", "-", stdin=r.text)
    iog(env, "wallet", "sign-and-send", "alice", "--tx", "-", stdin=signed_by_node)
    record = until(
        lambda: (b := api.get(f"/nodes/{node_key}/record").json())["status"] == "registered" and b, "registration"
    )
    assert record["as_of_slot"] > 0 and record["operator"] == alice

    # 3. the operator stakes twice the minimum (200 IO per GPU)
    own = 800 * IO
    net.act("stake", "alice", node=node, amount=str(own))
    chain_node = until(lambda: (b := api.get(f"/nodes/{node_key}").json()).get("operator_stake") == str(own) and b,
                       "the operator's stake indexed")  # fmt: skip
    assert (chain_node["name"], chain_node["gpu_model"], chain_node["record_status"]) == ("rig-1", "H100", "registered")

    # 4. the marketplace lists it, with its room under the 50% cap: as much again as the operator's stake
    def listed(**filters: str) -> Any:
        scheduler_pass()
        items = api.get("/marketplace/nodes", params={"gpu_model": "H100", **filters}).json()["items"]
        return next((i for i in items if i["node"] == node and i["operator_stake"] == str(own)), None)

    item = until(lambda: listed(has_capacity="true"), "the node in the marketplace")
    assert item["capacity_left"] == str(own) and item["score"]["eligible"] and item["status"] == "active"
    assert (item["name"], item["region"], item["commission_bps"]) == ("rig-1", "eu-west", 500)

    # 5. a delegator delegates through /tx/stake; one more past the cap is refused with the cap error's name
    net.act("stake", "bob", node=node, amount=str(500 * IO))
    refused = net.request("stake", "carol", node=node, amount=str(300 * IO + 1))
    assert refused.status_code == 409 and refused.json()["error"] == "DelegationCapExceeded", refused.text
    net.act("stake", "carol", node=node, amount=str(300 * IO))  # exactly the room left
    item = until(lambda: (i := listed()) and i["delegator_count"] == 2 and i, "the delegations indexed")
    assert (item["delegated_stake"], item["capacity_left"]) == (str(800 * IO), "0")

    # 6. request_unstake: the wallet view shows the unlock time
    net.act("request_unstake", "bob", node=node, amount=str(200 * IO))

    def unbonding() -> Any:
        view = api.get(f"/wallets/{bob}").json()
        pos = next((p for p in view["positions"] if p["node"] == node), None)
        return pos if pos and pos["unbonding"] == str(200 * IO) else None

    pos = until(unbonding, "the unstake request indexed")
    unlock = pos["unlock_time"]
    assert pos["bonded"] == str(300 * IO) and pos["node_name"] == "rig-1" and not pos["is_operator"]
    chain_pos = net.sc.decode_account(bytes(net.client.get_account_info(
        net.sc.position(Pubkey.from_string(node), net.wallets["bob"].pubkey())).value.data))  # fmt: skip
    assert chain_pos.entry_count == 1 and unlock == chain_pos.entries[0].unlock_time
    assert [(e["amount"], e["unlock_time"], e["withdrawable"]) for e in pos["entries"]] == [
        (str(200 * IO), unlock, False)
    ]
    before_view = api.get(f"/wallets/{bob}", params={"at": unlock - 1}).json()
    at_unlock = api.get(f"/wallets/{bob}", params={"at": unlock}).json()
    assert before_view["withdrawable"] == "0" and at_unlock["withdrawable"] == str(200 * IO)
    assert at_unlock["as_of_slot"] > 0 and at_unlock["io_balance"]["source"] == "chain"

    # 7. after the cooldown, withdraw pays out
    balance = int(api.get(f"/wallets/{bob}").json()["io_balance"]["amount"])

    def withdraw_ready() -> Any:
        r = net.request("withdraw", "bob", node=node)
        if r.status_code == 409:
            assert r.json()["error"] == "CooldownNotElapsed", r.text
            return None
        assert r.status_code == 200, r.text
        return r.json()

    built = until(withdraw_ready, "the cooldown to end", timeout=COOLDOWN + 60)
    net.send(built["transaction"], "bob")
    assert int(api.get(f"/wallets/{bob}").json()["io_balance"]["amount"]) - balance == 200 * IO
    done = until(lambda: (v := api.get(f"/wallets/{bob}").json())["unbonding"] == "0" and v, "the withdrawal indexed")
    (p,) = [p for p in done["positions"] if p["node"] == node]
    assert (p["withdrawn"], p["bonded"], p["unlock_time"]) == (str(200 * IO), str(300 * IO), None)
