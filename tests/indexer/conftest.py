"""Indexer fixtures: an embedded node with a bootstrapped IO mint/treasury, and a load generator on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.chain.deploy import bootstrap_step
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap
from tests.indexer.chainload import Loader


@pytest.fixture
def chain(localnet: LocalnetNode, tmp_path: Path) -> tuple[LocalnetNode, dict[str, Any], Path]:
    """(running LocalnetNode, bootstrap dict, bootstrap file) on fast test settings."""
    boot_file = tmp_path / "localnet.json"
    return localnet, run_bootstrap(localnet.rpc_url, boot_file, tmp_path / "keys"), boot_file


@pytest.fixture
def staking_chain(
    localnet: LocalnetNode, tmp_path: Path, staking_so: Path
) -> tuple[LocalnetNode, dict[str, Any], Path]:
    """Like ``chain``, with the staking program deployed and initialized (bootstrap's staking step)."""
    boot_file = tmp_path / "localnet.json"
    boot = run_bootstrap(localnet.rpc_url, boot_file, tmp_path / "keys", extra_steps=[bootstrap_step])
    return localnet, boot, boot_file


@pytest.fixture
def loader(chain: tuple[Any, dict[str, Any], Path]) -> Iterator[Loader]:
    """A payment generator on the chain fixture."""
    node, boot, _ = chain
    ld = Loader(node.rpc_url, boot)
    yield ld
    ld.http.close()


def settings_env(boot_file: Path, db_url: str, rpc_url: str, ws_url: str | None = None, **extra: Any) -> dict[str, str]:
    """IOG_* environment for an indexer subprocess."""
    env = {
        "IOG_DATABASE_URL": db_url,
        "IOG_RPC_URL": rpc_url,
        "IOG_BOOTSTRAP_FILE": str(boot_file),
        "IOG_DATA_DIR": str(boot_file.parent),
    }
    if ws_url:
        env["IOG_WS_URL"] = ws_url
    env.update({f"IOG_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def boot_json(path: Path) -> dict[str, Any]:
    """Read a bootstrap file."""
    return json.loads(path.read_text())
