"""iog rewards params show|set; iog rewards verify naming the first difference; iog epochs close/list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backend.cli import app
from backend.config import get_settings
from backend.epochs import params
from backend.models.epochs import Epoch, EpochDocument
from tests.backend.epochs.helpers import EPOCH, GRACE, G, drive

runner = CliRunner()


@pytest.fixture
def env(db_url: str, db_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("IOG_DATABASE_URL", db_url)
    monkeypatch.setenv("IOG_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), terminal_width=200)


class TestParams:
    def test_show_gives_the_defaults_as_version_0(self, env: None) -> None:
        r = invoke("rewards", "params", "show")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        assert doc["version"] == 0 and doc["params"] == params.defaults(8)

    def test_set_stores_a_new_version_over_the_one_in_force(
        self, env: None, session_factory: sessionmaker[Session]
    ) -> None:
        sets = ["--set", "min_uptime_bps=8000", "--set", "gpu_multipliers_bps.B200=30000"]
        r = invoke("rewards", "params", "set", *sets, "--note", "more GPUs")
        assert r.exit_code == 0, r.output
        assert json.loads(r.output) == {"version": 1}
        shown = json.loads(invoke("rewards", "params", "show").output)
        assert shown["version"] == 1 and shown["params"]["min_uptime_bps"] == 8000
        assert shown["params"]["gpu_multipliers_bps"]["B200"] == 30000
        assert shown["params"]["community_bps"] == params.defaults(8)["community_bps"]  # the rest is kept
        assert json.loads(invoke("rewards", "params", "show", "--version", "0").output)["version"] == 0

    def test_set_from_a_file(self, env: None, tmp_path: Path) -> None:
        f = tmp_path / "p.json"
        f.write_text(json.dumps({**params.defaults(8), "community_bps": 700}))
        assert invoke("rewards", "params", "set", "--file", str(f)).exit_code == 0
        assert json.loads(invoke("rewards", "params", "show").output)["params"]["community_bps"] == 700

    @pytest.mark.parametrize(
        ("args", "needle"),
        [
            (["--set", "min_uptime_bps=10001"], "params.min_uptime_bps"),
            (["--set", "colour=red"], "unknown parameter"),
            (["--set", "min_uptime_bps"], "KEY=VALUE"),
            (["--set", "min_stake_per_gpu=-5"], "params.min_stake_per_gpu"),
        ],
    )
    def test_invalid_sets_change_nothing(self, env: None, args: list[str], needle: str) -> None:
        r = invoke("rewards", "params", "set", *args)
        assert r.exit_code == 2 and needle in r.output
        assert json.loads(invoke("rewards", "params", "show").output)["version"] == 0


def test_verify_names_the_first_difference(
    db_world: dict[str, Any], session_factory: sessionmaker[Session], live_api_factory: Any
) -> None:
    db_world["runner"].open_current(G)
    drive(db_world["client"], db_world["agents"], range(0, 6), lambda n, m: True)
    db_world["runner"].tick(G + EPOCH + GRACE)
    api = live_api_factory()
    args = ["rewards", "verify", "--epoch", "0", "--api", api.url, "--rpc-url", "none"]
    ok = invoke(*args)
    assert ok.exit_code == 0 and "OK epoch 0" in ok.output and "no root posted yet" in ok.output
    with session_factory.begin() as s:  # tamper with the published output: one node's reward
        row = s.get(Epoch, 0)
        doc = s.get(EpochDocument, (0, row.inputs_sha256))  # type: ignore[union-attr]
        out = json.loads(doc.output)  # type: ignore[union-attr]
        out["nodes"][1]["reward"] = str(int(out["nodes"][1]["reward"]) + 1)
        doc.output = json.dumps(out, separators=(",", ":")).encode()  # type: ignore[union-attr]
    bad = invoke(*args)
    assert bad.exit_code == 1 and "MISMATCH" in bad.output and "nodes[1].reward" in bad.output
    assert invoke("rewards", "verify", "--epoch", "9", "--api", api.url, "--rpc-url", "none").exit_code == 2
