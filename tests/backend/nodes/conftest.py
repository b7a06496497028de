"""The nodes domain on the embedded localnet: the staking program deployed and initialized, the API served over
real HTTP on this test's database, and the demo wallets (alice, bob, carol: 10 SOL and 1,000,000 IO each) standing
in for operators' and delegators' wallets."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from backend.agent.registration import sign_registration
from backend.chain import tx
from backend.chain.deploy import bootstrap_step
from backend.chain.keys import load_keypair
from backend.chain.staking import ConfigParams, StakingClient
from tests.fixtures.localnet import run_bootstrap

IO = 10**8


@dataclass
class Net:
    """A bootstrapped localnet and the API in front of it."""

    rpc: str
    ws: str
    boot: dict[str, Any]
    boot_file: Path
    api: Any  # tests.fixtures.api.LiveApi
    wallets: dict[str, Keypair]
    sc: StakingClient

    @property
    def client(self) -> Client:
        return Client(self.rpc, timeout=30)

    def url(self, path: str) -> str:
        return self.api.url + path

    def sign_in(self, name: str) -> dict[str, str]:
        """Sign-In With Solana over HTTP with the wallet's key; the bearer header."""
        kp = self.wallets[name]
        c = httpx.post(self.url("/auth/challenge"), json={"address": str(kp.pubkey())}).json()
        sig = kp.sign_message(c["message"].encode())
        r = httpx.post(self.url("/auth/verify"), json={"message": c["message"], "signature": str(sig)})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def request(self, action: str, who: str, **params: Any) -> httpx.Response:
        """POST /tx/{action} for a wallet, as a wallet does."""
        return httpx.post(
            self.url(f"/tx/{action}"), params=params, json={"account": str(self.wallets[who].pubkey())}, timeout=60
        )

    def send(self, b64: str, who: str) -> str:
        """The wallet signs (keeping signatures already there) and sends; confirmed."""
        txn = Transaction.from_bytes(base64.b64decode(b64))
        txn.partial_sign([self.wallets[who]], txn.message.recent_blockhash)
        sig = self.client.send_raw_transaction(bytes(txn)).value
        tx.confirm(self.client, [sig], commitment=Confirmed)
        return str(sig)

    def act(self, action: str, who: str, **params: Any) -> str:
        """Request, check 200, sign and send."""
        r = self.request(action, who, **params)
        assert r.status_code == 200, r.text
        return self.send(r.json()["transaction"], who)

    def refused(self, action: str, who: str, error: str, **params: Any) -> dict[str, Any]:
        """Request and expect 409 naming ``error``."""
        r = self.request(action, who, **params)
        assert r.status_code == 409 and r.json()["error"] == error, r.text
        return r.json()

    def register(self, who: str, node_key: Keypair, gpu_units: int = 1, commission: int = 500, **extra: Any) -> Any:
        """POST /nodes, the node key signs first, then the operator's wallet sends; the API's answer."""
        body = {
            "node_key": str(node_key.pubkey()), "name": "rig", "gpu_model": "A100", "gpu_units": gpu_units,
            "vram_gb": 80, "region": "eu-west", "commission_bps": commission, **extra,
        }  # fmt: skip
        r = httpx.post(self.url("/nodes"), json=body, headers=self.sign_in(who), timeout=60)
        assert r.status_code == 201, r.text
        out = r.json()
        out["signature"] = self.send(sign_registration(out["transaction"], node_key, self.sc.program_id), who)
        return out

    def set_params(self, **changes: Any) -> None:
        """update_config by the staking admin (test set-up, not a user action)."""
        admin = load_keypair(Path(self.boot["staking"]["admin_keypair_path"]))
        cfg = self.sc.decode_account(bytes(self.client.get_account_info(self.sc.config, Confirmed).value.data))
        p = cfg.params
        current = {f: getattr(p, f) for f in ConfigParams.__dataclass_fields__}
        ix = self.sc.update_config(admin.pubkey(), ConfigParams(**{**current, **changes}))
        tx.send_and_confirm(self.client, admin, [ix], commitment=Confirmed)

    def io(self, who: str) -> int:
        from backend.chain.tokens import io_account

        mint = Pubkey.from_string(self.boot["mint"])
        acc = io_account(self.wallets[who].pubkey(), mint)
        return int(self.client.get_token_account_balance(acc, Confirmed).value.amount)


def make_net(localnet: Any, tmp_path: Path, live_api_factory: Any) -> Net:
    """Bootstrap (staking program deployed) on ``localnet`` and serve the API in front of it."""
    boot_file = tmp_path / "localnet.json"
    boot = run_bootstrap(localnet.rpc_url, boot_file, tmp_path / "keys", extra_steps=[bootstrap_step])
    api = live_api_factory(rpc_url=localnet.rpc_url, bootstrap_file=boot_file, data_dir=tmp_path)
    wallets = {w["name"]: load_keypair(Path(w["keypair_path"])) for w in boot["wallets"]}
    sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
    return Net(localnet.rpc_url, localnet.ws_url, boot, boot_file, api, wallets, sc)


@pytest.fixture
def net(localnet: Any, staking_so: Path, tmp_path: Path, live_api_factory: Any) -> Net:
    """On the fast test localnet (50 ms slots: a blockhash lives ~7 s)."""
    return make_net(localnet, tmp_path, live_api_factory)


@pytest.fixture
def cli_net(localnet_factory: Any, staking_so: Path, tmp_path: Path, live_api_factory: Any) -> Net:
    """For flows through several `iog` processes (a few seconds each): 200 ms slots, so a built transaction's
    blockhash lives ~30 s, as a person's would ~60 s on the default 400 ms."""
    return make_net(localnet_factory(slot_ms=200), tmp_path, live_api_factory)
