"""``iog run``: the whole system on embedded defaults, as child processes supervised by this one.

Order: the localnet node (``iog localnet up``), the cluster bootstrap, database migrations, the indexer
(``iog indexer run``), the API (``iog api``) and the settlement worker (``iog settlement watch``). Every child
inherits the ``IOG_*`` environment, so pointing ``IOG_RPC_URL`` at a real cluster and ``IOG_DATABASE_URL`` at
PostgreSQL works the same way; the embedded node is
started only when the RPC URL is on this machine and nothing answers there yet. Ctrl-C or SIGTERM stops all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlparse

import httpx
from rich.console import Console

from backend.config import Settings, get_settings

console = Console()


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


def run_all(settings: Settings | None = None) -> int:
    """Run everything until interrupted; returns the process exit code."""
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
        sup.start("indexer", ["indexer", "run"])
        sup.start("api", ["api"])
        sup.start("settlement", ["settlement", "watch"])
        console.print(
            f"\n[bold]iog is up[/]  API http://{settings.api_host}:{settings.api_port}/docs  "
            f"RPC {settings.rpc_url}  WS {settings.ws_url}  "
            f"addresses {settings.resolved_bootstrap_file}\nCtrl-C stops everything.\n"
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
