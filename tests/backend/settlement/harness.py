"""A whole deployment for end-to-end tests: the embedded node bootstrapped with USDC, the real indexer and the
settlement worker as ``iog`` subprocesses, the API over HTTPS, and helpers a buyer/orchestrator would use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed, Finalized
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.chain.settlement_setup import settlement_step
from backend.db import make_sessionmaker, session_scope
from backend.models.nodes import NodeRecord
from localnet.node import LocalnetNode
from tests.fixtures.api import LiveApi
from tests.fixtures.localnet import run_bootstrap

ROOT = Path(__file__).resolve().parents[3]


def wait_for(pred: Callable[[], Any], what: str, timeout: float = 60.0, every: float = 0.05) -> Any:
    """Poll ``pred`` until it returns something truthy (returned); fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


@dataclass
class Net:
    """The running deployment."""

    node: LocalnetNode
    boot: dict[str, Any]
    boot_file: Path
    data_dir: Path
    db_url: str
    engine: Engine
    env: dict[str, str]
    api: LiveApi
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def client(self) -> Client:
        return Client(self.node.rpc_url, timeout=30)

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api.url, verify=str(self.api.ca_file) if self.api.ca_file else True, timeout=30
        )

    def session(self) -> Any:
        return session_scope(make_sessionmaker(self.engine))

    def wallet(self, name: str) -> Keypair:
        w = next(w for w in self.boot["wallets"] if w["name"] == name)
        return Keypair.from_json(Path(w["keypair_path"]).read_text())

    def token_balance(self, account: str, commitment: Any = Confirmed) -> int:
        return int(self.client.get_token_account_balance(Pubkey.from_string(account), commitment).value.amount)

    def iog(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        """Run ``iog ARGS`` with this deployment's environment."""
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            env={**os.environ, **self.env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``iog ARGS`` in the background (output in a log file named after it)."""
        log = self.data_dir / f"{name}.log"
        self.logs[name] = log
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", *args],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def sign_in(self, name: str) -> str:
        """Sign-In With Solana as a demo wallet; the bearer token."""
        kp = self.wallet(name)
        with self.http() as http:
            ch = http.post("/auth/challenge", json={"address": str(kp.pubkey())}).json()
            sig = kp.sign_message(ch["message"].encode())
            r = http.post("/auth/verify", json={"message": ch["message"], "signature": str(sig)})
            assert r.status_code == 200, r.text
            return str(r.json()["token"])

    def api_key(self, role: str = "orchestrator") -> tuple[str, str]:
        """(key id, key) of a new API key."""
        with self.session() as s:
            k = auth_service.create_api_key(s, role, f"test-{role}", int(time.time()))
        return k.id, k.key

    def register_node(self, operator: str) -> str:
        """A node in the registry (what issue 10's routes write), operated by ``operator``; its device key."""
        node_key = str(Keypair().pubkey())
        now = int(time.time())
        with self.session() as s:
            s.add(
                NodeRecord(
                    node_key=node_key,
                    node=str(Keypair().pubkey()),
                    operator=operator,
                    name="e2e",
                    gpu_model="H100",
                    gpu_units=8,
                    vram_gb=80,
                    region="eu",
                    description=None,
                    commission_bps=500,
                    status="registered",
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
        return node_key

    def wait_finalized(self, signature: str, timeout: float = 60.0) -> None:
        from solders.signature import Signature

        sig = Signature.from_string(signature)

        def done() -> bool:
            st = self.client.get_signature_statuses([sig], search_transaction_history=True).value[0]
            return st is not None and str(st.confirmation_status).lower().endswith("finalized")

        wait_for(done, f"{signature} finalized", timeout)

    def indexed_through(self, slot: int) -> bool:
        """Whether the indexer's finalized passes covered ``slot`` for every treasury account."""
        from sqlalchemy import select

        from backend.models.indexer import IndexerCursor

        accounts = [self.boot["treasury"], self.boot["settlement"]["treasury_usdc"]]
        with self.session() as s:
            rows = dict(s.execute(select(IndexerCursor.address, IndexerCursor.synced_slot)).all())
        return all(int(rows.get(a) or 0) >= slot for a in accounts)

    def finalized_slot(self) -> int:
        return int(self.client.get_slot(Finalized).value)


def make_net(
    localnet_factory: Callable[..., LocalnetNode],
    live_api_factory: Callable[..., LiveApi],
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    *,
    finality_slots: int = 40,
    watcher: bool = True,
    **settings: Any,
) -> Iterator[Net]:
    """Start the deployment (generator for a fixture: stops every process at the end)."""
    node = localnet_factory(finality_slots=finality_slots)
    boot_file = tmp_path / "localnet.json"
    boot = run_bootstrap(node.rpc_url, boot_file, tmp_path / "keys", extra_steps=[settlement_step])
    env = {
        "IOG_DATABASE_URL": db_url,
        "IOG_RPC_URL": node.rpc_url,
        "IOG_WS_URL": node.ws_url,
        "IOG_BOOTSTRAP_FILE": str(boot_file),
        "IOG_DATA_DIR": str(tmp_path),
        "IOG_INDEXER_POLL_SECONDS": "0.3",
        "IOG_SETTLEMENT_POLL_SECONDS": "0.2",
        **{f"IOG_{k.upper()}": str(v) for k, v in settings.items()},
    }
    api = live_api_factory(
        tls=True, rpc_url=node.rpc_url, ws_url=node.ws_url, bootstrap_file=boot_file, data_dir=tmp_path, **settings
    )
    env["IOG_API_URI"] = api.url
    net = Net(node, boot, boot_file, tmp_path, db_url, engine, env, api)
    try:
        net.start("indexer", "indexer", "run")
        # The indexer is up (and its websocket subscribed soon after) once its first finalized pass is written.
        wait_for(lambda: net.indexed_through(1), "the indexer's first pass", 60)
        if watcher:
            net.start("watcher", "settlement", "watch")
        yield net
    finally:
        net.stop_all()


def dump_logs(net: Net) -> str:
    """Every subprocess log (for assertion messages)."""
    return "\n".join(f"--- {name}\n{path.read_text()[-4000:]}" for name, path in net.logs.items() if path.exists())


def session_of(net: Net) -> Session:
    return make_sessionmaker(net.engine)()


def as_json(text: str) -> Any:
    """The last JSON document a command printed."""
    start = text.index("{")
    return json.loads(text[start:])
