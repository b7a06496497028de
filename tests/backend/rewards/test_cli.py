"""``iog rewards compute | emission | proof`` through typer's CliRunner (real files in tmp_path)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from solders.pubkey import Pubkey
from typer.testing import CliRunner

from backend.rewards.cli import app
from backend.rewards.engine import compute
from backend.rewards.merkle import verify_proof
from tests.backend.rewards.helpers import epoch_input, node, pk

runner = CliRunner()


def sample() -> dict:
    delegated = node(
        "b",
        operator="op2",
        commission_bps=500,
        compute_gpu_seconds=7,
        stake=[{"owner": pk("op2"), "amount": "100"}, {"owner": pk("d"), "amount": "300"}],
    )
    return epoch_input(
        [node("a", compute_gpu_seconds=3), delegated, node("c", slashed=True)],
        previous={pk("d"): "40", pk("gone"): "9"},
    )


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "epoch.json"
    src.write_text(json.dumps(sample()))
    return src, tmp_path / "payouts.json"


class TestCompute:
    def test_writes_the_output(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        result = runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst)])
        assert result.exit_code == 0, result.output
        assert json.loads(dst.read_text()) == compute(sample())
        assert "2/3 nodes eligible" in result.stdout

    def test_rerun_gives_the_same_bytes(self, files: tuple[Path, Path], tmp_path: Path) -> None:
        src, dst = files
        other = tmp_path / "again.json"
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(other), "--quiet"])
        assert dst.read_bytes() == other.read_bytes()

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            (json.dumps({**sample(), "schema": "nope"}), "schema"),
            ("{not json", "input"),
            ('{"schema": "iog.rewards.input/1", "schema": "x"}', "input"),  # duplicate key
            ('{"schema": NaN}', "input"),
        ],
    )
    def test_invalid_input_exits_2_names_the_field_and_writes_nothing(
        self, tmp_path: Path, text: str, field: str
    ) -> None:
        src = tmp_path / "bad.json"
        src.write_text(text)
        dst = tmp_path / "out.json"
        result = runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst)])
        assert result.exit_code == 2
        assert f"{field}:" in result.stderr
        assert not dst.exists()
        assert [p.name for p in tmp_path.iterdir()] == ["bad.json"]  # no temp file left behind

    def test_invalid_input_does_not_clobber_an_existing_output(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        dst.write_text("previous epoch's payouts")
        doc = sample()
        doc["nodes"][1]["stake"][1]["amount"] = "-5"
        src.write_text(json.dumps(doc))
        result = runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst)])
        assert result.exit_code == 2
        assert "nodes[1].stake[1].amount" in result.stderr
        assert dst.read_text() == "previous epoch's payouts"

    def test_missing_input_file_exits_2(self, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["compute", "--input", str(tmp_path / "no.json"), "--output", str(tmp_path / "o.json")]
        )
        assert result.exit_code == 2 and not (tmp_path / "o.json").exists()

    def test_too_deeply_nested_input_exits_2(self, tmp_path: Path) -> None:
        src = tmp_path / "deep.json"
        src.write_text("[" * 100_000 + "]" * 100_000)
        result = runner.invoke(app, ["compute", "--input", str(src), "--output", str(tmp_path / "o.json")])
        assert result.exit_code == 2 and "input:" in result.stderr and not (tmp_path / "o.json").exists()

    def test_unwritable_output_exits_2(self, files: tuple[Path, Path], tmp_path: Path) -> None:
        src, _ = files
        dst = tmp_path / "missing-dir" / "out.json"
        result = runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst)])
        assert result.exit_code == 2 and "output:" in result.stderr

    def test_output_file_gets_the_usual_mode(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        umask = os.umask(0)
        os.umask(umask)
        assert dst.stat().st_mode & 0o777 == 0o666 & ~umask


class TestEmission:
    def test_epoch_zero(self) -> None:
        result = runner.invoke(app, ["emission", "--epoch", "0"])
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "epoch": 0,
            "emission": "456621000000",
            "emission_io": "4566.21000000",
            "emitted_before": "0",
            "emitted_through": "456621000000",
        }

    def test_last_epoch_completes_300_million_io(self) -> None:
        out = json.loads(runner.invoke(app, ["emission", "--epoch", "175318"]).stdout)
        assert out["emission_io"] == "396.57629970"
        assert out["emitted_through"] == str(300_000_000 * 10**8)

    def test_after_the_schedule(self) -> None:
        assert json.loads(runner.invoke(app, ["emission", "--epoch", "175319"]).stdout)["emission"] == "0"

    def test_negative_epoch_is_a_usage_error(self) -> None:
        assert runner.invoke(app, ["emission", "--epoch", "-1"]).exit_code == 2


class TestProof:
    def test_prints_a_proof_that_verifies(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        payouts = json.loads(dst.read_text())
        assert len(payouts["totals"]) == 4
        for total in payouts["totals"]:
            result = runner.invoke(app, ["proof", "--payouts", str(dst), "--wallet", total["wallet"]])
            assert result.exit_code == 0, result.output
            doc = json.loads(result.stdout)
            assert doc["cumulative"] == total["cumulative"] and doc["merkle_root"] == payouts["merkle_root"]
            key = bytes(Pubkey.from_string(total["wallet"]))
            proof = [bytes.fromhex(h) for h in doc["proof"]]
            root = bytes.fromhex(doc["merkle_root"])
            assert verify_proof(root, key, int(doc["cumulative"]), proof)
            assert not verify_proof(root, key, int(doc["cumulative"]) + 1, proof)

    def test_unknown_wallet_exits_1(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        result = runner.invoke(app, ["proof", "--payouts", str(dst), "--wallet", pk("stranger")])
        assert result.exit_code == 1 and "no lifetime total" in result.stderr

    def test_tampered_totals_are_rejected(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        doc = json.loads(dst.read_text())
        doc["totals"][0]["cumulative"] = str(int(doc["totals"][0]["cumulative"]) + 1)
        dst.write_text(json.dumps(doc))
        result = runner.invoke(app, ["proof", "--payouts", str(dst), "--wallet", doc["totals"][0]["wallet"]])
        assert result.exit_code == 2 and "merkle_root" in result.stderr

    def test_bad_wallet_exits_2(self, files: tuple[Path, Path]) -> None:
        src, dst = files
        runner.invoke(app, ["compute", "--input", str(src), "--output", str(dst), "--quiet"])
        result = runner.invoke(app, ["proof", "--payouts", str(dst), "--wallet", "nope"])
        assert result.exit_code == 2 and "wallet:" in result.stderr
