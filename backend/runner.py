"""``iog run``: the whole system on embedded defaults, as child processes supervised by this one.

Order: the localnet node (``iog localnet up``), the cluster bootstrap, database migrations, the demo's registry
records and parameters (:mod:`backend.epochs.demo`), the indexer (``iog indexer run``), the API (``iog api``),
the scheduler (``iog scheduler run``: closes and posts epochs) and one simulated agent per demo node
(``iog agent run --simulate``). With ``IOG_EVM_RPC_URL`` set, also the EVM rail: anvil (``iog evmnet up``, only
when the URL is on this machine and nothing answers), ``iog evmnet bootstrap`` (only on a dev chain it started or
that answers with anvil's chain id) and the EVM indexer (``iog evm index run``). Every child inherits the
``IOG_*`` environment, so pointing ``IOG_RPC_URL`` at a real cluster and ``IOG_DATABASE_URL`` at PostgreSQL works
the same way; the embedded node is started only when the RPC URL is on this machine and nothing answers there
yet. The demo's epochs are 60 s (``IOG_EPOCH_SECONDS``, ``IOG_EPOCH_GRACE_SECONDS`` and
``IOG_SCHEDULER_TICK_SECONDS`` get demo defaults unless set). Ctrl-C or SIGTERM stops all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

import httpx
from rich.console import Console

from backend.config import Settings, get_settings

console = Console()

#: Settings ``iog run`` gives its children unless the environment sets them: a demo epoch every minute.
DEMO_ENV = {
    "IOG_EPOCH_SECONDS": "60",
    "IOG_EPOCH_GRACE_SECONDS": "20",
    "IOG_SCHEDULER_TICK_SECONDS": "2",
    "IOG_PAYOUT_INTERVAL_SECONDS": "60",
    # Governance on a demo's scale: a vote of 2 minutes, a grant paid 30 s after it closed.
    "IOG_GOVERNANCE_VOTING_BASE_TIME": "120",
    "IOG_GOVERNANCE_TRANSACTIONS_HOLD_UP_TIME": "30",
    "IOG_GOVERNANCE_POLL_SECONDS": "5",
}
DEMO_AGENT_INTERVAL = "10"


class Supervisor:
    """Starts child processes and stops them all, newest first, when any exits or on a signal."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", *args], env=os.environ.copy())
        self.children.append((name, proc))
        console.print(f"[green]started[/] {name} (pid {proc.pid}): iog {' '.join(args)}")
        return proc

    def wait_any(self) -> int:
        """Block until one child exits; return its exit code."""
        while True:
            for name, proc in self.children:
                code = proc.poll()
                if code is not None:
                    console.print(f"[red]{name} exited with {code}[/]")
                    return code
            time.sleep(0.5)

    def stop_all(self) -> None:
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    console.print(f"[yellow]{name} did not stop in 15 s; killing[/]")
                    proc.kill()


def rpc_healthy(url: str) -> bool:
    """True when a JSON-RPC node answers getHealth with ok."""
    try:
        r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=2)
        return r.json().get("result") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def _start_evm(sup: Supervisor, settings: Settings) -> None:
    """The EVM rail: anvil when local and silent, its bootstrap on a dev chain, then the EVM indexer."""
    from backend.evm.anvil import DEV_CHAIN_ID, chain_id_at

    url = settings.evm_rpc_url
    assert url is not None
    parsed = urlparse(url)
    if parsed.hostname in ("127.0.0.1", "localhost") and chain_id_at(url) is None:
        args = ["evmnet", "up", "--port", str(parsed.port or settings.evm_anvil_port),
                "--state", str(settings.data_dir / "anvil-state.json")]
        if settings.evm_block_time:
            args += ["--block-time", str(settings.evm_block_time)]
        sup.start("anvil", args)
        wait_until(lambda: chain_id_at(url) is not None, f"anvil at {url}")
    if chain_id_at(url) == DEV_CHAIN_ID:
        subprocess.run([sys.executable, "-m", "backend.cli", "evmnet", "bootstrap"], check=True)
    sup.start("evm-indexer", ["evm", "index", "run"])


def prepare_demo(settings: Settings) -> list[Any]:
    """Registry records and the demo parameter set for the seeded demo nodes (idempotent); their agents."""
    from backend.chain import bootfile
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.epochs.demo import prepare_demo as prepare

    path = settings.resolved_bootstrap_file
    if not path.exists():
        return []
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return prepare(session, settings, bootfile.load(path), int(time.time()))
    finally:
        engine.dispose()


def run_all(settings: Settings | None = None) -> int:
    """Run everything until interrupted; returns the process exit code."""
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    get_settings.cache_clear()
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sup = Supervisor()

    def _terminate(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        host = urlparse(settings.rpc_url).hostname
        if host in ("127.0.0.1", "localhost") and not rpc_healthy(settings.rpc_url):
            sup.start(
                "localnet",
                [
                    "localnet", "up",
                    "--rpc-port", str(urlparse(settings.rpc_url).port or settings.localnet_rpc_port),
                    "--ws-port", str(urlparse(settings.ws_url).port or settings.localnet_ws_port),
                    "--ledger", str(settings.data_dir / "ledger"),
                ],
            )
            wait_until(lambda: rpc_healthy(settings.rpc_url), f"localnet at {settings.rpc_url}")
        subprocess.run([sys.executable, "-m", "backend.cli", "localnet", "bootstrap"], check=True)
        subprocess.run([sys.executable, "-m", "backend.cli", "db", "upgrade"], check=True)
        agents = prepare_demo(settings)
        sup.start("indexer", ["indexer", "run"])
        if settings.evm_rpc_url:
            _start_evm(sup, settings)
        sup.start("api", ["api"])
        sup.start("scheduler", ["scheduler", "run"])
        api = f"http://{settings.api_host}:{settings.api_port}"
        for agent in agents:
            sup.start(
                f"agent {agent.name}",
                [
                    "agent", "run", "--key", agent.key_path, "--api", api, "--interval", DEMO_AGENT_INTERVAL,
                    "--simulate", f"{agent.gpu_model}:{agent.gpu_units}",
                ],
            )  # fmt: skip
        sup.start("settlement", ["settlement", "watch"])
        console.print(
            f"\n[bold]iog is up[/]  web app http://{settings.api_host}:{settings.api_port}/  "
            f"API http://{settings.api_host}:{settings.api_port}/docs  "
            f"RPC {settings.rpc_url}  WS {settings.ws_url}  "
            f"addresses {settings.resolved_bootstrap_file}"
            + (f"  EVM {settings.evm_rpc_url} ({settings.resolved_evm_bootstrap_file})" if settings.evm_rpc_url else "")
            + f"\nepochs of {settings.epoch_seconds} s; {len(agents)} simulated node agent(s)"
            + "\nCtrl-C stops everything.\n"
        )
        return sup.wait_any()
    except KeyboardInterrupt:
        console.print("\nstopping...")
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        console.print(f"[red]start-up failed:[/] {exc}")
        return 1
    finally:
        sup.stop_all()
