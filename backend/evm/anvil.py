"""The local EVM node: anvil (Foundry), installed by ``make anvil`` from the pinned npm package into ``.tools/anvil``.

:class:`Anvil` starts it as a child process on 127.0.0.1 with the standard deterministic dev accounts (the
``test test ... junk`` mnemonic, 10 accounts of 10,000 ETH, chain id 31337) and waits until it answers
``eth_chainId``. ``iog evmnet up`` runs it in the foreground; ``iog run`` starts it when ``IOG_EVM_RPC_URL`` is
on this machine and nothing answers; tests start their own on free ports (tests/fixtures/evm.py).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backend.errors import AppError

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED = REPO_ROOT / ".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
DEV_CHAIN_ID = 31337
DEV_MNEMONIC = "test test test test test test test test test test test junk"


class AnvilNotInstalled(AppError):
    """No anvil binary: run `make anvil` (needs npm)."""

    status_code = 503


class AnvilStartError(AppError):
    """anvil exited or did not answer in time."""

    status_code = 503


def find_anvil(configured: Path | None = None) -> Path | None:
    """The anvil binary: the configured path, else the one ``make anvil`` installed, else one on PATH."""
    if configured is not None:
        return configured if configured.is_file() else None
    if BUNDLED.is_file():
        return BUNDLED
    found = shutil.which("anvil")
    return Path(found) if found else None


def chain_id_at(url: str, timeout: float = 2.0) -> int | None:
    """The chain id an EVM JSON-RPC node at ``url`` answers, or None when nothing answers."""
    try:
        r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout)
        return int(r.json()["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


@dataclass
class Anvil:
    """One anvil process. ``state`` (a JSON file) is loaded at start and written at exit, so a restart resumes."""

    port: int = 8545
    block_time: int | None = None
    chain_id: int = DEV_CHAIN_ID
    state: Path | None = None
    binary: Path | None = None
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The argv that starts this node."""
        binary = self.binary or find_anvil()
        if binary is None:
            raise AnvilNotInstalled("anvil is not installed: run `make anvil` (installs the pinned npm package)")
        argv = [str(binary), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(self.chain_id)]
        argv += ["--mnemonic", DEV_MNEMONIC, "--accounts", "10"]
        if self.block_time:
            argv += ["--block-time", str(self.block_time)]
        if self.state is not None:
            self.state.parent.mkdir(parents=True, exist_ok=True)
            # --state loads the file when it exists and writes it on exit; the interval bounds what a crash loses.
            argv += ["--state", str(self.state), "--state-interval", "5"]
        return argv

    def start(self, timeout: float = 30.0) -> Anvil:
        """Start the process and wait until it answers with the expected chain id."""
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115  (owned by the child)
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AnvilStartError(f"anvil exited with {self.proc.returncode} (port {self.port} in use?)")
            if chain_id_at(self.rpc_url, timeout=1.0) == self.chain_id:
                return self
            time.sleep(0.1)
        self.stop()
        raise AnvilStartError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f} s")

    def stop(self) -> None:
        """SIGINT (anvil writes its state on it), then kill if it does not exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def wait(self) -> int:
        """Block until the process exits; its exit code."""
        assert self.proc is not None
        return self.proc.wait()
