"""The node under test: the embedded localnet, or a real solana-test-validator (marker ``validator``).

Conformance tests take the ``node`` fixture and talk to it only through solana-py's AsyncClient, its websocket
client and raw HTTP, so the same assertions hold on both. The validator variant is skipped, with the reason,
when ``solana-test-validator`` is not on PATH.

Tests that must observe a state lasting only a few slots (confirmed but not yet finalized, ...) take
``stepped_node`` instead and call ``await node.step()`` to let a slot pass: the embedded node then runs on a
manual clock, so nothing moves between two reads and no assertion depends on catching a short window; a
validator keeps its own clock (its confirmed-to-finalized window is ~13 s) and ``step()`` waits for it.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from localnet.node import LocalnetNode
from localnet.validator import find_test_validator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "validator: runs against a real solana-test-validator (skipped if absent)"
    )


@dataclass
class NodeUnderTest:
    """What a conformance test may know about the node: its URLs and which engine it is."""

    rpc_url: str
    ws_url: str
    engine: str
    embedded: LocalnetNode | None = None

    async def step(self, slots: int = 1) -> None:
        """Let ``slots`` slots pass: at once on a manual-clock embedded node, else wait for the node's clock."""
        if self.embedded is not None and self.embedded.manual_clock:
            await asyncio.to_thread(self.embedded.advance, slots)
            return
        body = {"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": [{"commitment": "processed"}]}
        async with httpx.AsyncClient(timeout=30) as http:
            start = (await http.post(self.rpc_url, json=body)).json()["result"]
            deadline = asyncio.get_running_loop().time() + 60 + slots
            while (await http.post(self.rpc_url, json=body)).json()["result"] < start + slots:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.engine} node did not advance {slots} slot(s) from {start}")
                await asyncio.sleep(0.02)


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def validator_node(tmp_path: Path) -> Iterator[NodeUnderTest]:
    """A real solana-test-validator on free ports (skipped when not installed)."""
    exe = find_test_validator()
    if exe is None:
        pytest.skip("solana-test-validator is not installed (not on PATH)")
    port = _free_port_pair()
    proc = subprocess.Popen(
        [
            exe,
            "--rpc-port",
            str(port),
            "--ledger",
            str(tmp_path / "ledger"),
            "--reset",
            "--quiet",
            "--faucet-port",
            str(_free_port_pair()),
            "--gossip-port",
            str(_free_port_pair()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if (
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).json().get("result")
                == "ok"
            ):
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("solana-test-validator did not become healthy")
    yield NodeUnderTest(url, f"ws://127.0.0.1:{port + 1}", "validator")
    proc.terminate()
    proc.wait(30)


@pytest.fixture(params=["embedded", pytest.param("validator", marks=pytest.mark.validator)])
def node(request: pytest.FixtureRequest, localnet_factory: Callable[..., LocalnetNode]) -> NodeUnderTest:
    """The node under test (parametrized: embedded, validator)."""
    if request.param == "validator":
        return request.getfixturevalue("validator_node")
    n = localnet_factory()
    return NodeUnderTest(n.rpc_url, n.ws_url, "embedded", n)


@pytest.fixture(params=["embedded", pytest.param("validator", marks=pytest.mark.validator)])
def stepped_node(request: pytest.FixtureRequest, localnet_factory: Callable[..., LocalnetNode]) -> NodeUnderTest:
    """The node under test with a clock the test drives through ``step()`` (embedded: a manual clock)."""
    if request.param == "validator":
        return request.getfixturevalue("validator_node")
    n = localnet_factory(manual_clock=True)
    return NodeUnderTest(n.rpc_url, n.ws_url, "embedded", n)


@pytest.fixture
def boot(node: NodeUnderTest, tmp_path: Path) -> dict[str, Any]:
    """Bootstrap addresses on ``node``."""
    from tests.fixtures.localnet import run_bootstrap

    return run_bootstrap(node.rpc_url, tmp_path / "localnet.json", tmp_path / "keys", wallets=("alice", "bob"))
