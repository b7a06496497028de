"""Importing the EVM rail leaves the interpreter's recursion limit alone.

py_ecc (pulled in by eth_account/web3) raises it to 100,000 at import; with that limit, deep recursion overflows
the C stack and the process dies with a segfault instead of a RecursionError (the rewards CLI relies on that
error for too deeply nested input; tests/backend/rewards/test_cli.py crashed the suite once the EVM fixtures were
loaded). A fresh interpreter, because py_ecc's import runs once per process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["backend.evm.client", "backend.evm.keys", "backend.evm.cli", "web3"])
def test_import_keeps_the_recursion_limit(module: str) -> None:
    code = (
        "import sys; before = sys.getrecursionlimit(); import backend.evm; "
        f"import {module}; import eth_account, web3; print(before, sys.getrecursionlimit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1]
