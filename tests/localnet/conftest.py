"""Conformance-suite fixtures: ``boot`` (bootstrap addresses on the node under test).

The node fixtures themselves (``node``, ``stepped_node``, ``validator_node``, ``NodeUnderTest``) are shared by
the whole suite in tests/fixtures/localnet.py: the embedded localnet, or a real solana-test-validator (marker
``validator``, skipped with the reason when it is not on PATH).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.localnet import NodeUnderTest as NodeUnderTest  # re-exported for the conformance tests
from tests.fixtures.localnet import run_bootstrap


@pytest.fixture
def boot(node: NodeUnderTest, tmp_path: Path) -> dict[str, Any]:
    """Bootstrap addresses on ``node``."""
    return run_bootstrap(node.rpc_url, tmp_path / "localnet.json", tmp_path / "keys", wallets=("alice", "bob"))
