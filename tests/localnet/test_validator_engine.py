"""`--engine test-validator`: the command line it would run (the binary itself is not installed here)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from localnet.errors import LocalnetError
from localnet.validator import test_validator_command as command


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalnetError, match="not installed"):
        command(8899, 8900, None, False, [])


def test_flags_map_to_the_real_validator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a stand-in executable on PATH: only its path is used, it is never run
    fake = tmp_path / "solana-test-validator"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    argv, warnings = command(9000, 9005, tmp_path / "l", True, [("Prog111", Path("p.so"))], 50, None)
    assert argv[0] == str(fake)
    assert argv[1:] == [
        "--rpc-port",
        "9000",
        "--ledger",
        str(tmp_path / "l"),
        "--reset",
        "--bpf-program",
        "Prog111",
        "p.so",
    ]
    assert any("--ws-port ignored" in w for w in warnings)
    assert any("--slot-ms ignored" in w for w in warnings)
