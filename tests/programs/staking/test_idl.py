"""The IDL, the generated C header and the program agree: layouts, discriminators, errors, events, calls."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from anchorpy import Idl
from anchorpy.program.event import EventParser

from backend.chain import ids
from backend.chain.staking import StakingClient, error_names
from tests.programs.staking.cu import measure

HEADER = ids.PROGRAM_DIR / "src" / "layout.h"


def header_defines() -> dict[str, int]:
    out = {}
    for m in re.finditer(r"#define (\w+) (0x[0-9a-f]+|\d+)(ULL)?", HEADER.read_text()):
        out[m.group(1)] = int(m.group(2), 0)
    return out


def upper(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).upper()


class TestGeneratedFiles:
    def test_idl_and_header_are_up_to_date(self) -> None:
        gen = ids.PROGRAM_DIR / "tools" / "gen_layout.py"
        proc = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def test_idl_is_the_pre_030_format_anchorpy_loads(self) -> None:
        raw = json.loads(ids.IDL_PATH.read_text())
        assert {"version", "name", "instructions", "accounts", "types", "events", "errors"} <= raw.keys()
        assert "address" not in raw
        Idl.from_json(ids.IDL_PATH.read_text())


class TestHeaderMatchesAnchor:
    def test_instruction_discriminators(self) -> None:
        d = header_defines()
        client = StakingClient()
        for ix in client.program.idl.instructions:
            snake = re.sub(r"(?<!^)([A-Z])", r"_\1", ix.name).lower()
            expected = hashlib.sha256(f"global:{snake}".encode()).digest()[:8]
            built = bytes(client.coder.instruction.sighashes[snake])
            assert built == expected
            assert d[f"IX_{upper(ix.name)}"] == int.from_bytes(expected, "little")

    def test_account_discriminators_and_sizes(self) -> None:
        d = header_defines()
        client = StakingClient()
        for acc in client.program.idl.accounts:
            expected = hashlib.sha256(f"account:{acc.name}".encode()).digest()[:8]
            assert d[f"DISC_{upper(acc.name)}"] == int.from_bytes(expected, "little")
            layout = client.coder.accounts._accounts_layout[acc.name]
            assert d[f"{upper(acc.name)}_LEN"] == 8 + layout.sizeof()

    def test_event_discriminators(self) -> None:
        d = header_defines()
        for ev in StakingClient().program.idl.events:
            expected = hashlib.sha256(f"event:{ev.name}".encode()).digest()[:8]
            assert d[f"EV_{upper(ev.name)}"] == int.from_bytes(expected, "little")

    def test_error_codes(self) -> None:
        d = header_defines()
        names = error_names()
        assert min(names) == 6000
        for code, name in names.items():
            assert d[f"ERR_{upper(name)}"] == code


def test_every_instruction_succeeds_through_anchorpy_and_every_event_decodes(staking_so: Path) -> None:
    logs: list[str] = []
    rows = measure(staking_so, logs)
    client = StakingClient()
    called = {name.split(" ")[0] for name, _ in rows}
    assert called == {
        re.sub(r"(?<!^)([A-Z])", r"_\1", ix.name).lower() for ix in client.program.idl.instructions
    }
    seen: set[str] = set()
    # logs hold several transactions back to back; split at each top-level invoke
    chunks: list[list[str]] = []
    for line in logs:
        if line.startswith(f"Program {client.program_id} invoke [1]"):
            chunks.append([])
        if chunks:
            chunks[-1].append(line)
    for chunk in chunks:
        EventParser(client.program_id, client.coder).parse_logs(chunk, lambda e: seen.add(e.name))
    assert seen == {ev.name for ev in client.program.idl.events}


def test_program_error_names_come_from_the_idl() -> None:
    from backend.chain.tx import StakingProgramError

    err = StakingProgramError(6029)
    assert err.name == "NothingToClaim" and err.status_code == 400 and "6029" in err.message
    assert StakingProgramError(1).name == "Unknown(1)"


class TestErrorLogTables:
    """The text the program logs for each error (Anchor's format) is the IDL's, in the header and in the .so."""

    def test_every_idl_error_is_logged_with_its_name_number_and_message(self, staking_so: Path) -> None:
        so = staking_so.read_bytes()
        header = HEADER.read_text()
        idl = json.loads(ids.IDL_PATH.read_text())
        for e in idl["errors"]:
            text = f"Error Code: {e['name']}. Error Number: {e['code']}. Error Message: {e['msg']}."
            assert f'{{"{text}", {len(text)}}}' in header, e
            assert text.encode() in so, f"{e['name']}: the built program logs another text (rebuild it)"
        assert header_defines()["ERROR_COUNT"] == len(idl["errors"])

    def test_account_names_of_the_log_follow_the_idl_order(self) -> None:
        idl = json.loads(ids.IDL_PATH.read_text())
        names = re.findall(r'\{"(\w+)", \d+\}, /\* (\w+) \*/', HEADER.read_text())
        expected = [
            (re.sub(r"(?<!^)([A-Z])", r"_\1", a["name"]).lower(), re.sub(r"(?<!^)([A-Z])", r"_\1", ix["name"]).lower())
            for ix in idl["instructions"]
            for a in ix["accounts"]
        ]
        assert names == expected


def test_unbonding_entries_in_the_idl() -> None:
    idl = json.loads(ids.IDL_PATH.read_text())
    pos = next(a for a in idl["accounts"] if a["name"] == "StakePosition")
    fields = {f["name"]: f["type"] for f in pos["type"]["fields"]}
    assert fields["entries"] == {"array": [{"defined": "UnbondingEntry"}, 8]} and fields["entryCount"] == "u8"
    entry = next(t for t in idl["types"] if t["name"] == "UnbondingEntry")
    assert [(f["name"], f["type"]) for f in entry["type"]["fields"]] == [
        ("amount", "u64"),
        ("shares", "u64"),
        ("unlockTime", "i64"),
    ]
    events = {e["name"]: [f["name"] for f in e["fields"]] for e in idl["events"]}
    assert events["UnstakeRequested"][-2:] == ["unlockTime", "unbondingShares"]
    assert events["Withdrawn"] == ["node", "owner", "amount", "unbondingShares", "entriesPaid", "withdrawnAt"]
    assert {"MaxSlashBpsTooHigh", "TooManyUnbondingEntries"} <= {e["name"] for e in idl["errors"]}
