"""Compute-unit and build-time costs of the SDK and toolchain (a script, not collected by pytest).

Run: .venv/bin/python tests/programs/toolchain/bench_sdk.py

Baselines are measured in the same run: CU of an instruction that only parses its input and returns (the
probe's OP_CUSTOM with code 0), and for the build, clang-14 alone on the same source.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from solders.account import Account  # noqa: E402
from solders.instruction import AccountMeta  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from solders.litesvm import LiteSVM  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from solders.system_program import ID as SYSTEM_PROGRAM_ID  # noqa: E402
from solders.token import ID as TOKEN_PROGRAM_ID  # noqa: E402
from solders.token.state import Mint, TokenAccount, TokenAccountState  # noqa: E402

from programs.toolchain.build import CFLAGS, CLANG, SDK_DIR, build_program  # noqa: E402
from tests.programs.toolchain.fixtures import PROBE_SOURCE, Probe  # noqa: E402

U64 = 2**64 - 1


def _probe(elf: bytes) -> Probe:
    svm = LiteSVM().with_transaction_history(0)
    pid = Pubkey.from_string("Probe11111111111111111111111111111111111111")
    svm.add_program(pid, elf)
    payer = Keypair.from_seed(bytes(range(32)))
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    return Probe(svm, pid, payer)


def _cu(probe: Probe, op: int, data: bytes = b"", metas: list[AccountMeta] | None = None) -> int:
    res = probe.call(op, data, metas or [])
    assert res.ok, res.logs
    return res.compute_units


def _token_setup(probe: Probe) -> tuple[Pubkey, Pubkey, Pubkey, Pubkey]:
    mint = Pubkey.new_unique()
    mint_data = bytes(Mint(probe.payer.pubkey(), 10**15, 8, True))
    probe.svm.set_account(mint, Account(10**9, mint_data, TOKEN_PROGRAM_ID))
    authority, _ = Pubkey.find_program_address([b"vault_authority"], probe.program_id)
    keys = []
    for owner, amount in ((authority, 10**12), (Keypair().pubkey(), 0)):
        key = Pubkey.new_unique()
        data = bytes(TokenAccount(mint, owner, amount, None, TokenAccountState.Initialized, None, 0, None))
        probe.svm.set_account(key, Account(10**9, data, TOKEN_PROGRAM_ID))
        keys.append(key)
    return mint, authority, keys[0], keys[1]


def main() -> None:
    """Prints the CU table and the build-time table."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        elf = build_program([PROBE_SOURCE], Path(tmp) / "probe.so").read_bytes()
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [CLANG, *CFLAGS, f"-I{SDK_DIR}", "-emit-llvm", "-c", str(PROBE_SOURCE), "-o", f"{tmp}/p.bc"],
            check=True,
            capture_output=True,
        )
        clang_s = time.perf_counter() - t0

    probe = _probe(elf)
    base = _cu(probe, 13, struct.pack("<I", 0))
    rows: list[tuple[str, int]] = []
    many = [AccountMeta(Pubkey.new_unique(), False, False) for _ in range(16)]
    rows.append(("parse input, 16 extra empty accounts", _cu(probe, 13, struct.pack("<I", 0), many)))
    rows.append(("logs: IOG_LOG, sol_log_pubkey, sol_log_data, compute units", _cu(probe, 0)))
    rows.append(("find PDA, 1 seed (iog_find_pda + iog_check_pda)", _cu(probe, 1, b"\x01\x05hello")))
    empty_md = _cu(probe, 5, b"\x00")
    for label, triple in [
        ("mul_div, a*b < 2^64", (10**9, 10**9, 7)),
        ("mul_div, 128-bit path", (U64, U64 - 1, U64)),
        ("mul_div, money (stake * reward / total)", (10**17, 10**16, 3 * 10**17)),
    ]:
        rows.append((label, base + _cu(probe, 5, b"\x00" + struct.pack("<QQQ", *triple)) - empty_md))
    mint, authority, vault, dest = _token_setup(probe)
    metas = [
        AccountMeta(vault, False, True),
        AccountMeta(dest, False, True),
        AccountMeta(authority, False, False),
    ]
    rows.append(
        (
            "PDA-signed SPL Transfer (CPI, incl. Token)",
            _cu(
                probe, 6, struct.pack("<QBB", 5, 0, 0), [*metas, AccountMeta(TOKEN_PROGRAM_ID, False, False)]
            ),
        )
    )
    checked = [metas[0], AccountMeta(mint, False, False), metas[1], metas[2]]
    rows.append(
        (
            "PDA-signed SPL TransferChecked (CPI)",
            _cu(
                probe,
                6,
                struct.pack("<QBB", 5, 1, 8),
                [*checked, AccountMeta(TOKEN_PROGRAM_ID, False, False)],
            ),
        )
    )
    payer = probe.payer.pubkey()
    state, _ = Pubkey.find_program_address([b"state", bytes(payer)], probe.program_id)
    create = [
        AccountMeta(payer, True, True),
        AccountMeta(state, False, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
    ]
    rows.append(("System create_account of a PDA (CPI)", _cu(probe, 7, struct.pack("<QB", 128, 0), create)))

    console = Console()
    table = Table(title=f"SDK compute units (baseline: parse + return = {base} CU)")
    table.add_column("operation")
    table.add_column("CU", justify="right")
    table.add_column("over baseline", justify="right")
    for label, cu in rows:
        table.add_row(label, str(cu), str(cu - base))
    console.print(table)
    build = Table(title="Build time of tests/programs/toolchain/c/probe.c (wall clock, shared machine)")
    build.add_column("step")
    build.add_column("seconds", justify="right")
    build.add_row("clang-14 only (baseline)", f"{clang_s:.2f}")
    build.add_row("full build: clang + llvm-link + llc + link", f"{build_s:.2f}")
    build.add_row("program size (bytes)", str(len(elf)))
    console.print(build)


if __name__ == "__main__":
    main()
