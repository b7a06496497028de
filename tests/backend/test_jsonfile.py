"""The typed, versioned JSON files (Solana bootstrap file here; the EVM one in tests/backend/evm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.chain import bootfile
from backend.chain.bootfile import BootstrapFileError
from backend.jsonfile import save_json


class TestSolanaBootFile:
    def test_missing_unreadable_and_non_json_files_say_what_to_run(self, tmp_path: Path) -> None:
        with pytest.raises(BootstrapFileError, match="not found: run `iog localnet bootstrap`"):
            bootfile.load(tmp_path / "nope.json")
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        with pytest.raises(BootstrapFileError, match="is not JSON"):
            bootfile.load(bad)
        with pytest.raises(BootstrapFileError, match="cannot read"):
            bootfile.load(tmp_path)  # a directory

    def test_a_newer_version_and_a_bad_field_are_refused_by_name(self, tmp_path: Path) -> None:
        path = tmp_path / "localnet.json"
        path.write_text(json.dumps({"version": 7}))
        with pytest.raises(BootstrapFileError, match="version 7; this iog reads up to version 1"):
            bootfile.load(path)
        path.write_text(json.dumps({"mint": "not-a-key"}))
        with pytest.raises(BootstrapFileError, match=r"not a valid bootstrap file: rpc_url: Field required \(run"):
            bootfile.load(path)


def test_save_writes_only_when_the_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.json"
    assert save_json({"b": 1, "a": [1, 2]}, path)
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert not save_json({"a": [1, 2], "b": 1}, path)
    assert save_json({"a": [1]}, path) and json.loads(path.read_text()) == {"a": [1]}
    assert not (tmp_path / "sub" / "f.json.tmp").exists()
