"""``--engine test-validator``: run a real ``solana-test-validator`` with the flags it shares."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from localnet.errors import LocalnetError

BINARY = "solana-test-validator"


def find_test_validator() -> str | None:
    """Path of ``solana-test-validator`` on PATH, or None."""
    return shutil.which(BINARY)


def test_validator_command(
    rpc_port: int,
    ws_port: int,
    ledger: Path | None,
    reset: bool,
    bpf_programs: list[tuple[str, Path]],
    slot_ms: int | None = None,
    finality_slots: int | None = None,
) -> tuple[list[str], list[str]]:
    """(argv, warnings) for the flags the real validator has; others are reported, not silently dropped."""
    exe = find_test_validator()
    if exe is None:
        raise LocalnetError(
            f"{BINARY} is not installed (not found on PATH). Install the Solana CLI "
            "(https://docs.anza.xyz/cli/install) or use the embedded node: `iog localnet up` "
            "(--engine embedded, the default)."
        )
    argv = [exe, "--rpc-port", str(rpc_port), "--ledger", str(ledger or Path("test-ledger"))]
    warnings = []
    if ws_port != rpc_port + 1:
        warnings.append(
            f"{BINARY} always serves websocket on rpc-port + 1 ({rpc_port + 1}); --ws-port ignored"
        )
    if slot_ms is not None:
        warnings.append(f"{BINARY} keeps its own slot time (~400 ms); --slot-ms ignored")
    if finality_slots is not None:
        warnings.append(f"{BINARY} finalizes by its own consensus (~32 slots); --finality-slots ignored")
    if reset:
        argv.append("--reset")
    for program_id, path in bpf_programs:
        argv += ["--bpf-program", program_id, str(path)]
    return argv, warnings


def run_test_validator(argv: list[str]) -> int:
    """Run the validator in the foreground; returns its exit code."""
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 0
