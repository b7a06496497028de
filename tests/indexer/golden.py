"""Golden files: recorded getTransaction responses in tests/resources/indexer and their decoded rows."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from backend.chain.ids import IDL_PATH
from indexer.decode import DecodeContext, decode_transaction
from indexer.idl import EventCoder

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "indexer"
IDL = IDL_PATH
UPDATE = os.environ.get("IOG_UPDATE_GOLDEN") == "1"


def context(meta_file: str) -> DecodeContext:
    """Decode context described by a ``*_meta.json`` file."""
    meta = json.loads((RESOURCES / meta_file).read_text())
    return DecodeContext(
        watched=frozenset(meta["watched"]),
        io_mint=meta["io_mint"],
        program_id=meta["program_id"],
        events=EventCoder.from_file(IDL),
    )


def decode_file(path: Path, ctx: DecodeContext) -> dict[str, Any]:
    """Decode one recorded response into plain JSON-able rows."""
    rec = json.loads(path.read_text())
    d = decode_transaction(rec["signature"], rec["result"], ctx, "finalized")
    return dataclasses.asdict(d) if d is not None else {"undecodable": True}


def check_golden(path: Path, ctx: DecodeContext) -> dict[str, Any]:
    """Compare the decoded rows with ``<name>.expected.json``.

    A missing expected file fails the test; ``IOG_UPDATE_GOLDEN=1`` (re)writes it, to be reviewed by a person
    before it is committed.
    """
    got = decode_file(path, ctx)
    expected_path = path.with_suffix(".expected.json")
    if UPDATE:
        expected_path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert expected_path.exists(), (
        f"golden file {expected_path.name} is missing: write it with IOG_UPDATE_GOLDEN=1 and review it"
    )
    assert got == json.loads(expected_path.read_text()), f"decoded rows differ from {expected_path.name}"
    return got
