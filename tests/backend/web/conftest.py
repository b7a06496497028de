"""Browser-test fixtures: a seeded demo network served by the real API, and Debian's chromium driven by Playwright.

- ``demo_net`` (package scope): the embedded localnet, bootstrap with the staking program and the demo seed
  (alpha, bob's beta, carol's delegation) plus a third node ``gamma`` operated by the test wallet's fixed keypair
  (so sorting by stake and by commission give different orders), the real indexer (``iog indexer run``, a
  subprocess) and the API with the web app (uvicorn in this process, so a test can register a transaction-request
  action). Pages are read only through HTTP, as a person's browser would.
- ``browser`` (package scope): chromium from the ``chromium`` Debian package (``.ci/run`` installs it); the tests
  skip, saying so, where it is missing.
- ``open_page(...)``: a fresh context and page (optionally with the test wallet), recording console errors,
  uncaught exceptions and any request that leaves this machine (aborted); ``probe.assert_clean()`` checks them.
- Screenshots go to ``.artifacts/web/`` (ignored by git; ``IOG_TEST_ARTIFACTS`` overrides); the path is printed at
  the end of the run.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from solana.rpc.api import Client
from solders.pubkey import Pubkey

from backend import migrate
from backend.app import create_app
from backend.chain.bootstrap import BootstrapContext
from backend.chain.demo import seed_demo_step
from backend.chain.deploy import bootstrap_step
from backend.chain.keys import load_keypair
from backend.chain.staking import StakingClient
from backend.config import Settings
from backend.db import make_engine
from localnet.node import LocalnetNode
from tests.backend.web.wallet import TestWallet, fixed_keypair
from tests.fixtures.db import fresh_database_url
from tests.fixtures.localnet import FAST, run_bootstrap

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("IOG_TEST_ARTIFACTS", REPO / ".artifacts")) / "web"
AXE = REPO / "backend" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
_shots: list[Path] = []

# The third node: operated by the test wallet, 1 GPU, the lowest commission.
GAMMA_COMMISSION_BPS = 100
TEST_WALLET_NAME = "dave"


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
    """The running demo network."""

    url: str
    rpc_url: str
    settings: Settings
    boot: dict[str, Any]
    nodes: dict[str, str]  # name -> node account address
    wallets: dict[str, str]  # name -> address
    log: Path
    invoice: str = ""  # an open IO invoice of the test wallet (issue 12's POST /invoices)

    def get(self, path: str, **kw: Any) -> Any:
        r = httpx.get(self.url + path, headers={"accept": "application/json"}, timeout=10, **kw)
        r.raise_for_status()
        return r.json()


def _open_invoice(url: str) -> str:
    """Sign in as the test wallet (SIWS, over HTTP) and open a 25 IO invoice; its id."""
    kp = fixed_keypair()
    challenge = httpx.post(f"{url}/auth/challenge", json={"address": str(kp.pubkey())}, timeout=10).json()
    sig = str(kp.sign_message(challenge["message"].encode()))
    token = httpx.post(
        f"{url}/auth/verify", json={"message": challenge["message"], "signature": sig}, timeout=10
    ).json()["token"]
    r = httpx.post(
        f"{url}/invoices",
        json={"amount": "2500000000", "currency": "IO", "description": "4x H100 for an hour"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()
    return str(r.json()["id"])


def _wait(check: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="package")
def demo_net(tmp_path_factory: pytest.TempPathFactory, staking_so: Path) -> Iterator[DemoNet]:
    """Localnet + bootstrap (demo seed and gamma) + indexer + API with the web app."""
    tmp = tmp_path_factory.mktemp("webnet")
    keys = tmp / "keys"
    keys.mkdir()
    (keys / f"wallet-{TEST_WALLET_NAME}.json").write_text(json.dumps(list(bytes(fixed_keypair()))))
    node = LocalnetNode(**FAST).start()
    db_url, drop = fresh_database_url(tmp)
    indexer = None
    stop_api: Callable[[], None] | None = None
    log = tmp / "indexer.log"
    try:
        boot_file = tmp / "localnet.json"
        boot = run_bootstrap(
            node.rpc_url,
            boot_file,
            keys,
            wallets=("alice", "bob", "carol", TEST_WALLET_NAME),
            extra_steps=[bootstrap_step, seed_demo_step, gamma_step],
        )
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        engine.dispose()
        env = {
            **os.environ,
            "IOG_DATABASE_URL": db_url,
            "IOG_RPC_URL": node.rpc_url,
            "IOG_WS_URL": node.ws_url,
            "IOG_BOOTSTRAP_FILE": str(boot_file),
            "IOG_DATA_DIR": str(tmp),
            "IOG_INDEXER_POLL_SECONDS": "0.5",
        }
        with log.open("w") as out:
            indexer = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "indexer", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        settings = Settings(  # type: ignore[call-arg]
            database_url=db_url,
            rpc_url=node.rpc_url,
            ws_url=node.ws_url,
            bootstrap_file=boot_file,
            data_dir=tmp,
            _env_file=None,
        )
        app = create_app(settings)
        url, stop_api = serve(app)
        port = urlparse(url).port
        settings.api_uri, settings.api_domain = url, f"127.0.0.1:{port}"
        nodes = {n["name"]: n["node"] for n in boot["demo"]["nodes"]}
        sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
        nodes["gamma"] = str(sc.node(load_keypair(keys / "node-gamma.json").pubkey()))
        wallets = {w["name"]: w["pubkey"] for w in boot["wallets"]}
        net = DemoNet(url, node.rpc_url, settings, boot, nodes, wallets, log)

        def indexed() -> bool:
            assert indexer is not None and indexer.poll() is None, f"the indexer exited:\n{log.read_text()}"
            body = httpx.get(f"{url}/nodes", timeout=10).json()
            carol = httpx.get(f"{url}/wallets/{wallets['carol']}/positions", timeout=10).json()
            return body.get("total") == 3 and len(carol.get("positions", [])) == 1

        _wait(indexed, "the indexer shows the three nodes and carol's delegation")
        net.invoice = _open_invoice(url)
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


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless chromium (Debian's package) through Playwright's Python API."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Probe:
    """What a page did that a test must see: console errors, uncaught exceptions, requests off this machine."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        """Accept console errors containing ``fragment`` (a test that provokes an error on purpose)."""
        self.allowed.append(fragment)

    def assert_clean(self) -> None:
        errors = [e for e in self.errors if not any(a in e for a in self.allowed)]
        assert not errors, f"console errors: {errors}"
        assert not self.external, f"requests that left this machine: {self.external}"


def _local(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("data", "blob", "about") or p.hostname in ("127.0.0.1", "localhost")


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Probe]]]:
    """``open_page(url, wallet=None, width=1280, height=900)`` -> (page, probe); contexts close at teardown."""
    contexts: list[Any] = []

    def make(url: str, wallet: TestWallet | None = None, width: int = 1280, height: int = 900) -> tuple[Any, Probe]:
        context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        contexts.append(context)
        probe = Probe()

        def route(r: Any) -> None:
            if _local(r.request.url):
                r.continue_()
            else:
                probe.external.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        if wallet is not None:
            wallet.install(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and probe.errors.append(f"{m.text} ({m.location})"))
        page.on("pageerror", lambda e: probe.errors.append(f"uncaught: {e}"))
        page.goto(url)
        return page, probe

    yield make
    for c in contexts:
        c.close()


def wait_ready(page: Any, timeout: float = 30_000) -> None:
    """Wait until the page's module finished its first load (``body[data-ready=true]``)."""
    page.wait_for_selector("body[data-ready='true']", timeout=timeout)


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under the artifacts folder; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    _shots.append(path)
    return path


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page (axe from the pinned npm package)."""
    assert AXE.is_file(), f"{AXE} is missing: run `make web` (it installs axe-core)"
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def rpc_client(net: DemoNet) -> Client:
    return Client(net.rpc_url)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _shots:
        terminalreporter.write_line(f"web app screenshots ({len(_shots)}): {ARTIFACTS}")
