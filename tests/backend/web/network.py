"""The seeded network the browser tests (and the README screenshot) look at, built the way ``iog run`` builds it.

- the embedded localnet with the cluster bootstrap of ``iog localnet bootstrap`` (staking program, demo seed:
  alpha and bob's beta, carol's delegation to alpha; USDC; the epoch genesis) plus a third node ``gamma``
  operated by the test wallet (dave's fixed keypair);
- the demo's registry records and parameters (``backend.epochs.demo.prepare_demo``, as ``iog run``) and a record
  for gamma;
- the real indexer (``iog indexer run``, a subprocess) and the API with the web app (uvicorn in this process);
- two closed epochs: each node's agent (``backend.agent.runner.Agent``) sends signed heartbeats over HTTP for
  epochs 0 and 1, with the API's clock set to each heartbeat's minute (the genesis is a few epochs in the past);
  beta is offline for three minutes of epoch 0 (``uptime_below_minimum``), gamma answers epoch 0's challenge
  wrongly (``not_verified``). The real epoch runner closes, computes and posts both roots on chain, and marks
  them finalized once the indexer has read the posts; then the node stats job refreshes the marketplace as of the
  end of epoch 1 (virtual time too, so the 30-day uptimes are exact: alpha and gamma 100%, beta 70%).

Nothing is mocked: pages read all of it through the public API, as a browser does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import uvicorn
from fastapi import FastAPI
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend import migrate
from backend.agent.runner import Agent
from backend.app import create_app
from backend.chain import bootfile
from backend.chain.bootstrap import BootstrapContext
from backend.chain.demo import seed_demo_step
from backend.chain.deploy import bootstrap_step
from backend.chain.epoch_setup import epochs_step
from backend.chain.keys import load_keypair
from backend.chain.settlement_setup import settlement_step
from backend.chain.staking import StakingClient
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.epochs.demo import prepare_demo
from backend.epochs.runner import make_runner
from backend.nodes.service import ensure_demo_record
from backend.nodes.tasks import nodes_pass
from backend.telemetry.challenges import PuzzleVerifier, solve_puzzle
from localnet.node import LocalnetNode
from tests.backend.web.wallet import fixed_keypair
from tests.fixtures.db import fresh_database_url
from tests.fixtures.localnet import FAST, run_bootstrap

EPOCH = 300  # 5-minute epochs: heartbeats every minute fill them; the demo parameters ask 2 minutes continuous
GRACE = 60
CLOSED_EPOCHS = 2
TEST_WALLET_NAME = "dave"
# The third node: operated by the test wallet, 1 GPU, the lowest commission.
GAMMA_COMMISSION_BPS = 100
GAMMA_MODEL = ("H100", 80)
IO_INVOICE_UNITS = "2500000000"  # 25 IO


def serve(app: FastAPI) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1; returns (base URL, stop)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(15)

    return f"http://127.0.0.1:{port}", stop


def gamma_step(ctx: BootstrapContext) -> None:
    """Bootstrap step (test only): the test wallet registers node ``gamma`` and stakes twice the minimum."""
    staking = ctx.file.staking
    assert staking is not None
    sc = StakingClient(Pubkey.from_string(staking.program_id))
    wallet = next(w for w in ctx.file.wallets if w.name == TEST_WALLET_NAME)
    operator = load_keypair(Path(wallet.keypair_path))
    node_key = ctx.keypair("node-gamma")
    node = sc.node(node_key.pubkey())
    if ctx.client.get_account_info(node, ctx.commitment).value is not None:
        return
    cfg = sc.decode_account(bytes(ctx.client.get_account_info(sc.config, ctx.commitment).value.data))
    ctx.send([sc.register_node(operator.pubkey(), node_key.pubkey(), 1, GAMMA_COMMISSION_BPS)], [operator, node_key])
    amount = 2 * cfg.params.min_stake_per_gpu
    ix = sc.stake(
        operator.pubkey(), node, Pubkey.from_string(wallet.io_account), Pubkey.from_string(staking.stake_vault), amount
    )
    ctx.send([ix], [operator])


@dataclass
class DemoNet:
    """The running seeded network."""

    url: str
    rpc_url: str
    settings: Settings
    app: FastAPI
    boot: dict[str, Any]
    nodes: dict[str, str]  # name -> node account address
    wallets: dict[str, str]  # name -> address
    genesis: int
    log: Path
    invoice: str = ""  # an open IO invoice of the test wallet

    def get(self, path: str, **kw: Any) -> Any:
        r = httpx.get(self.url + path, headers={"accept": "application/json"}, timeout=10, **kw)
        r.raise_for_status()
        return r.json()

    def open_invoice(self, description: str = "4x H100 for an hour", amount: str = IO_INVOICE_UNITS) -> dict[str, Any]:
        """Sign in as the test wallet (SIWS, over HTTP) and open an IO invoice; the invoice."""
        kp = fixed_keypair()
        challenge = httpx.post(f"{self.url}/auth/challenge", json={"address": str(kp.pubkey())}, timeout=10).json()
        sig = str(kp.sign_message(challenge["message"].encode()))
        body = {"message": challenge["message"], "signature": sig}
        token = httpx.post(f"{self.url}/auth/verify", json=body, timeout=10).json()["token"]
        r = httpx.post(
            f"{self.url}/invoices",
            json={"amount": amount, "currency": "IO", "description": description},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        r.raise_for_status()
        return dict(r.json())


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.2)


def _wrong(nonce: str, difficulty: int, node_key: str) -> str:
    """A solution that does not solve the puzzle (gamma's agent in epoch 0)."""
    v = PuzzleVerifier(0)
    return next(
        x.to_bytes(8, "big").hex()
        for x in range(10_000)
        if not v.check(nonce, difficulty, node_key, x.to_bytes(8, "big").hex())
    )


def _heartbeats(net: DemoNet, keys: Path) -> None:
    """Epochs 0 and 1 minute by minute, each agent at 7 s past the minute, the API's clock set to that time."""
    epoch0 = {"on": True}

    def gamma_solver(nonce: str, difficulty: int, node_key: str) -> str:
        return (_wrong if epoch0["on"] else solve_puzzle)(nonce, difficulty, node_key)

    models = {"alpha": ("A100", 8), "beta": ("RTX4090", 4), "gamma": (GAMMA_MODEL[0], 1)}
    with httpx.Client(base_url=net.url, timeout=30) as http:
        agents = {
            name: Agent(load_keypair(keys / f"node-{name}.json"), http, model, units,
                        **({"solver": gamma_solver} if name == "gamma" else {}))
            for name, (model, units) in models.items()
        }  # fmt: skip
        try:
            for minute in range(CLOSED_EPOCHS * EPOCH // 60 + 1):
                now = net.genesis + 60 * minute + 7
                epoch0["on"] = now < net.genesis + EPOCH
                net.app.state.clock = lambda now=now: now
                for name, agent in agents.items():
                    if name == "beta" and 1 <= minute <= 3:
                        continue  # offline for 3 of epoch 0's 5 minutes
                    result = agent.heartbeat(now)
                    assert result["status"] == "accepted", (name, minute, result)
        finally:
            del net.app.state.clock


def _close_epochs(net: DemoNet) -> None:
    """The epoch runner closes and posts epochs 0 and 1 (virtual time), then marks them finalized."""
    engine = make_engine(net.settings.resolved_database_url)
    try:
        runner = make_runner(net.settings, make_sessionmaker(engine))
        g = net.genesis
        runner.open_current(g)
        for epoch in range(CLOSED_EPOCHS):
            report = runner.tick(g + (epoch + 1) * EPOCH + GRACE)
            assert report.posted == epoch, (epoch, report)
        done: set[int] = set()
        later = g + CLOSED_EPOCHS * EPOCH + GRACE + 1

        def finalized() -> bool:
            done.update(runner.tick(later).finalized)
            return done >= set(range(CLOSED_EPOCHS))

        wait_for(finalized, "both posts finalized and indexed")
    finally:
        engine.dispose()


def _indexer_env(settings: Settings, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "IOG_DATABASE_URL": settings.resolved_database_url,
        "IOG_RPC_URL": settings.rpc_url,
        "IOG_WS_URL": settings.ws_url,
        "IOG_BOOTSTRAP_FILE": str(settings.resolved_bootstrap_file),
        "IOG_DATA_DIR": str(tmp),
        "IOG_INDEXER_POLL_SECONDS": "0.5",
    }


@contextmanager
def demo_network(tmp: Path) -> Iterator[DemoNet]:
    """Start the seeded network under ``tmp``; stop it on exit."""
    keys = tmp / "keys"
    keys.mkdir()
    (keys / f"wallet-{TEST_WALLET_NAME}.json").write_text(json.dumps(list(bytes(fixed_keypair()))))
    node = LocalnetNode(**FAST).start()
    db_url, drop = fresh_database_url(tmp)
    indexer: subprocess.Popen[bytes] | None = None
    stop_api: Callable[[], None] | None = None
    log = tmp / "indexer.log"
    now = int(time.time())
    genesis = now // EPOCH * EPOCH - (CLOSED_EPOCHS + 1) * EPOCH  # epochs 0 and 1 are over, with their grace
    try:
        boot_file = tmp / "localnet.json"
        steps = [bootstrap_step, seed_demo_step, gamma_step, settlement_step, epochs_step(boot_file, lambda: genesis)]
        wallets_ = ("alice", "bob", "carol", TEST_WALLET_NAME)
        boot = run_bootstrap(node.rpc_url, boot_file, keys, wallets=wallets_, extra_steps=steps)
        settings = Settings(  # type: ignore[call-arg]
            database_url=db_url,
            rpc_url=node.rpc_url,
            ws_url=node.ws_url,
            bootstrap_file=boot_file,
            data_dir=tmp,
            epoch_seconds=EPOCH,
            epoch_grace_seconds=GRACE,
            challenge_difficulty_bits=4,
            _env_file=None,
        )
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
        gamma_key: Keypair = load_keypair(keys / "node-gamma.json")
        nodes = {n["name"]: n["node"] for n in boot["demo"]["nodes"]}
        nodes["gamma"] = str(sc.node(gamma_key.pubkey()))
        wallets = {w["name"]: w["pubkey"] for w in boot["wallets"]}
        with session_scope(make_sessionmaker(engine)) as session:
            prepare_demo(session, settings, bootfile.load(boot_file), now)
            ensure_demo_record(session, str(gamma_key.pubkey()), nodes["gamma"], wallets[TEST_WALLET_NAME], "gamma",
                               GAMMA_MODEL[0], 1, GAMMA_MODEL[1], GAMMA_COMMISSION_BPS, now)  # fmt: skip
        engine.dispose()
        with log.open("w") as out:
            indexer = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "indexer", "run"],
                env=_indexer_env(settings, tmp),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        app = create_app(settings)
        url, stop_api = serve(app)
        settings.api_uri, settings.api_domain = url, f"127.0.0.1:{urlparse(url).port}"
        net = DemoNet(url, node.rpc_url, settings, app, boot, nodes, wallets, genesis, log)

        def indexed() -> bool:
            assert indexer is not None and indexer.poll() is None, f"the indexer exited:\n{log.read_text()}"
            body = httpx.get(f"{url}/nodes", timeout=10).json()
            carol = httpx.get(f"{url}/wallets/{wallets['carol']}/positions", timeout=10).json()
            return body.get("total") == 3 and len(carol.get("positions", [])) == 1

        wait_for(indexed, "the indexer shows the three nodes and carol's delegation")
        nodes_pass(settings)  # registry statuses (draft -> registered) before heartbeats
        _heartbeats(net, keys)
        _close_epochs(net)
        # The marketplace's uptime, rewards and estimated APY, as of the end of the closed epochs (virtual time,
        # like the heartbeats): uptime is then exact whatever the wall clock, alpha and gamma 100%, beta 70%
        # (7 of 10 minutes). Stats as of wall time would divide by a setup time that varies with the machine's load.
        nodes_pass(settings, now=genesis + CLOSED_EPOCHS * EPOCH)
        net.invoice = net.open_invoice()["id"]
        yield net
    finally:
        if stop_api:
            stop_api()
        if indexer is not None:
            indexer.send_signal(signal.SIGTERM)
            try:
                indexer.wait(30)
            except subprocess.TimeoutExpired:
                indexer.kill()
        node.stop()
        drop()  # type: ignore[operator]
