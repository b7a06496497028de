"""Pins every constant of programs/sdk against solders and the LiteSVM runtime."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import solders.token as token
from solders import sysvar
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    InstructionErrorFieldless,
)
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID

from tests.programs.toolchain.fixtures import PROBE_SOURCE, Probe

SDK = Path(__file__).resolve().parents[3] / "programs" / "sdk"
OP_ERROR, OP_IDS, OP_CUSTOM = 2, 3, 13

# (SDK macro, runtime error) in the order of the ERRORS table of probe.c
BUILTIN_ERRORS: list[tuple[str, object]] = [
    ("IOG_ERR_CUSTOM_ZERO", InstructionErrorCustom(0)),
    ("IOG_ERR_INVALID_ARGUMENT", InstructionErrorFieldless.InvalidArgument),
    ("IOG_ERR_INVALID_INSTRUCTION_DATA", InstructionErrorFieldless.InvalidInstructionData),
    ("IOG_ERR_INVALID_ACCOUNT_DATA", InstructionErrorFieldless.InvalidAccountData),
    ("IOG_ERR_ACCOUNT_DATA_TOO_SMALL", InstructionErrorFieldless.AccountDataTooSmall),
    ("IOG_ERR_INSUFFICIENT_FUNDS", InstructionErrorFieldless.InsufficientFunds),
    ("IOG_ERR_INCORRECT_PROGRAM_ID", InstructionErrorFieldless.IncorrectProgramId),
    ("IOG_ERR_MISSING_REQUIRED_SIGNATURE", InstructionErrorFieldless.MissingRequiredSignature),
    ("IOG_ERR_ACCOUNT_ALREADY_INITIALIZED", InstructionErrorFieldless.AccountAlreadyInitialized),
    ("IOG_ERR_UNINITIALIZED_ACCOUNT", InstructionErrorFieldless.UninitializedAccount),
    ("IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS", InstructionErrorFieldless.NotEnoughAccountKeys),
    ("IOG_ERR_ACCOUNT_BORROW_FAILED", InstructionErrorFieldless.AccountBorrowFailed),
    ("IOG_ERR_MAX_SEED_LENGTH_EXCEEDED", InstructionErrorFieldless.MaxSeedLengthExceeded),
    ("IOG_ERR_INVALID_SEEDS", InstructionErrorFieldless.InvalidSeeds),
    ("IOG_ERR_BORSH_IO_ERROR", InstructionErrorBorshIO),
    ("IOG_ERR_ACCOUNT_NOT_RENT_EXEMPT", InstructionErrorFieldless.AccountNotRentExempt),
    ("IOG_ERR_UNSUPPORTED_SYSVAR", InstructionErrorFieldless.UnsupportedSysvar),
    ("IOG_ERR_ILLEGAL_OWNER", InstructionErrorFieldless.IllegalOwner),
    (
        "IOG_ERR_MAX_ACCOUNTS_DATA_ALLOCATIONS_EXCEEDED",
        InstructionErrorFieldless.MaxAccountsDataAllocationsExceeded,
    ),
    ("IOG_ERR_INVALID_REALLOC", InstructionErrorFieldless.InvalidRealloc),
    (
        "IOG_ERR_MAX_INSTRUCTION_TRACE_LENGTH_EXCEEDED",
        InstructionErrorFieldless.MaxInstructionTraceLengthExceeded,
    ),
    (
        "IOG_ERR_BUILTIN_PROGRAMS_MUST_CONSUME_COMPUTE_UNITS",
        InstructionErrorFieldless.BuiltinProgramsMustConsumeComputeUnits,
    ),
    ("IOG_ERR_INVALID_ACCOUNT_OWNER", InstructionErrorFieldless.InvalidAccountOwner),
    ("IOG_ERR_ARITHMETIC_OVERFLOW", InstructionErrorFieldless.ArithmeticOverflow),
    ("IOG_ERR_IMMUTABLE", InstructionErrorFieldless.Immutable),
    ("IOG_ERR_INCORRECT_AUTHORITY", InstructionErrorFieldless.IncorrectAuthority),
]


def _header_macros(pattern: str) -> list[str]:
    text = "".join(p.read_text() for p in sorted(SDK.glob("*.h")))
    return re.findall(pattern, text)


class TestErrorCodes:
    def test_every_error_macro_of_the_sdk_is_pinned_here_and_in_the_probe(self) -> None:
        in_header = _header_macros(r"#define (IOG_ERR_\w+) ")
        assert sorted(in_header) == sorted(name for name, _ in BUILTIN_ERRORS)
        probe_table = re.search(r"ERRORS\[\] = \{(.*?)\};", PROBE_SOURCE.read_text(), re.S)
        assert probe_table is not None
        assert re.findall(r"IOG_ERR_\w+", probe_table.group(1)) == [name for name, _ in BUILTIN_ERRORS]

    @pytest.mark.parametrize("index", range(len(BUILTIN_ERRORS)), ids=[n for n, _ in BUILTIN_ERRORS])
    def test_builtin_error_maps_to_the_runtime_error(self, probe: Probe, index: int) -> None:
        name, expected = BUILTIN_ERRORS[index]
        res = probe.call(OP_ERROR, bytes([index]))
        assert not res.ok
        got = res.error.err  # type: ignore[attr-defined]
        if isinstance(expected, type):
            assert isinstance(got, expected), (name, got)
        else:
            assert got == expected, (name, got)

    def test_small_return_code_is_a_custom_error(self, probe: Probe) -> None:
        res = probe.call(OP_CUSTOM, (6001).to_bytes(4, "little"))
        assert res.error.err == InstructionErrorCustom(6001)  # type: ignore[attr-defined]
        assert probe.call(OP_CUSTOM, (0).to_bytes(4, "little")).ok


class TestLoggingSyscalls:
    def test_log_pubkey_data_and_compute_units(self, probe: Probe) -> None:
        res = probe.call(0, b"event-bytes")
        assert res.ok, res.logs
        assert "Program log: hello from the iog sdk" in res.logs
        assert f"Program log: {probe.program_id}" in res.logs
        data = base64.b64encode(b"abc").decode() + " " + base64.b64encode(b"event-bytes").decode()
        assert f"Program data: {data}" in res.logs
        assert any(re.fullmatch(r"Program consumption: \d+ units remaining", line) for line in res.logs)


class TestProgramIds:
    def test_ids_match_solders(self, probe: Probe) -> None:
        res = probe.call(OP_IDS)
        assert res.ok, res.logs
        expected = [SYSTEM_PROGRAM_ID, token.ID, ASSOCIATED_TOKEN_PROGRAM_ID, sysvar.CLOCK, sysvar.RENT]
        assert [res.return_data[i * 32 : (i + 1) * 32] for i in range(5)] == [bytes(k) for k in expected]

    def test_every_id_macro_is_covered(self) -> None:
        assert sorted(_header_macros(r"#define (IOG_(?!ERR_)\w+_ID)\b")) == sorted(
            [
                "IOG_SYSTEM_PROGRAM_ID",
                "IOG_TOKEN_PROGRAM_ID",
                "IOG_ASSOCIATED_TOKEN_PROGRAM_ID",
                "IOG_SYSVAR_CLOCK_ID",
                "IOG_SYSVAR_RENT_ID",
            ]
        )
