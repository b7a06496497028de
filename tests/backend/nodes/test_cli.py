"""The commands the README's "Try it" uses: iog wallet address / sign-and-send, iog localnet set-params,
iog nodes refresh-stats, and iog agent sign-registration reading the API's answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

from tests.backend.nodes.conftest import IO, Net

IOG = str(Path(sys.executable).with_name("iog"))


def iog(net: Net, tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    base = {"IOG_RPC_URL": net.rpc, "IOG_BOOTSTRAP_FILE": str(net.boot_file), "IOG_DATA_DIR": str(tmp_path),
            "IOG_API_URI": net.api.url, "COLUMNS": "250"}  # fmt: skip
    return subprocess.run(
        [IOG, *args], input=stdin, env={**os.environ, **base, **env}, capture_output=True, text=True, timeout=120
    )


def test_wallet_address_and_sign_and_send(cli_net: Net, tmp_path: Path) -> None:
    net = cli_net
    r = iog(net, tmp_path, "wallet", "address", "carol")
    assert r.returncode == 0 and r.stdout.strip() == str(net.wallets["carol"].pubkey())
    key = Keypair()
    built = net.request("register_node", "bob", node_key=str(key.pubkey()), gpu_units="1", commission_bps="0")
    assert built.status_code == 200, built.text
    # another wallet is not the fee payer: refused, nothing sent
    r = iog(net, tmp_path, "wallet", "sign-and-send", "carol", "--tx", "-", stdin=built.text)
    assert r.returncode == 2 and "fee payer" in r.stdout
    # the node key has not signed yet: refused before sending
    r = iog(net, tmp_path, "wallet", "sign-and-send", "bob", "--tx", "-", stdin=built.text)
    assert r.returncode == 2 and str(key.pubkey()) in r.stdout and "sign-registration" in r.stdout
    # an API error piped in is shown as such
    refused = net.request("stake", "bob", node=str(Keypair().pubkey()), amount="1")
    r = iog(net, tmp_path, "wallet", "sign-and-send", "bob", "--tx", "-", stdin=refused.text)
    assert r.returncode == 2 and "NotFound" in r.stdout
    # the node machine signs first (reading the API's JSON answer), then the wallet
    key_file = tmp_path / "node.json"
    key_file.write_text(json.dumps(list(bytes(key))))
    signed = iog(net, tmp_path, "agent", "sign-registration", "--key", str(key_file), "--tx", "-", stdin=built.text)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    sent = iog(net, tmp_path, "wallet", "sign-and-send", "bob", "--tx", signed.stdout.strip())
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert net.client.get_account_info(net.sc.node(key.pubkey()), Confirmed).value is not None


def test_set_params(net: Net, tmp_path: Path) -> None:
    r = iog(net, tmp_path, "localnet", "set-params", "--cooldown-seconds", "30", "--min-stake-per-gpu", "150")
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = net.sc.decode_account(bytes(net.client.get_account_info(net.sc.config, Confirmed).value.data))
    assert (cfg.params.cooldown_seconds, cfg.params.min_stake_per_gpu) == (30, 150 * IO)
    again = iog(net, tmp_path, "localnet", "set-params", "--cooldown-seconds", "30")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    bad = iog(net, tmp_path, "localnet", "set-params", "--max-delegation-bps", "10001")
    assert bad.returncode == 1 and "InvalidParams" in bad.stdout


def test_refresh_stats_command(net: Net, tmp_path: Path, db_url: str) -> None:
    r = iog(net, tmp_path, "nodes", "refresh-stats", IOG_DATABASE_URL=db_url)
    assert r.returncode == 0 and "node_stats: 0 node(s)" in r.stdout, r.stdout + r.stderr
    assert httpx.get(net.url("/marketplace/nodes")).json()["refreshed_at"] is not None
