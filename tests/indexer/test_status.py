"""What operators see: `iog indexer status` (lag against each address's newest signature, head slot, --wide) and
the progress line `iog indexer run` logs every IOG_INDEXER_LOG_SECONDS."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from indexer.status import AddressStatus, StatusReport, progress_line
from tests.indexer.chainload import Loader
from tests.indexer.conftest import settings_env
from tests.indexer.test_cli import IOG, iog


def table(stdout: str) -> list[dict[str, str]]:
    """The rows of a rich table printed by the CLI, as {column header: cell}."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("│") or ln.startswith("┃")]
    cells = [[c.strip() for c in ln.strip("│┃").split("│" if ln.startswith("│") else "┃")] for ln in lines]
    header, rows = cells[0], cells[1:]
    return [dict(zip(header, row, strict=True)) for row in rows]


def wait_finalized_slot(loader: Loader, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while (slot := int(loader.rpc("getSlot", [{"commitment": "finalized"}]))) < at_least:
        assert time.monotonic() < deadline, f"the finalized slot stays at {slot}"
        time.sleep(0.05)
    return slot


def backfilled(chain: tuple, loader: Loader, tmp_path: Path, payments: int) -> tuple[dict[str, str], dict[str, Any]]:
    """(IOG_* environment, bootstrap dict) after ``payments`` finalized payments were backfilled by the CLI."""
    node, boot, boot_file = chain
    loader.wait_finalized(loader.send(payments, batch=payments))
    env = settings_env(boot_file, f"sqlite:///{tmp_path / 'st.db'}", node.rpc_url)
    assert iog(env, "backfill", "--quiet").returncode == 0
    return env, boot


class TestStatusLag:
    def test_lag_stays_zero_while_nothing_new_happens(self, chain: tuple, loader: Loader, tmp_path: Path) -> None:
        env, boot = backfilled(chain, loader, tmp_path, 5)
        first = iog(env, "status")
        assert first.returncode == 0, first.stdout + first.stderr
        before = {r["address"]: r for r in table(first.stdout)}
        # Many slots pass with no transaction on any watched address: nothing is missing, so no lag appears.
        now = int(loader.rpc("getSlot", [{"commitment": "finalized"}]))
        wait_finalized_slot(loader, now + 40)
        again = iog(env, "status")
        after = {r["address"]: r for r in table(again.stdout)}
        assert set(after) == set(before) and boot["treasury"] in after
        assert {a: r["lag"] for a, r in after.items()} == {a: "0" for a in after}, again.stdout
        assert after[boot["treasury"]]["head slot"] == after[boot["treasury"]]["slot"] != "0"

    def test_lag_is_the_distance_to_the_addresses_newest_signature(
        self, chain: tuple, loader: Loader, tmp_path: Path
    ) -> None:
        env, boot = backfilled(chain, loader, tmp_path, 3)
        newer = loader.send(2, batch=2)  # on chain, not indexed yet
        loader.wait_finalized(newer)
        head = loader.chain_signatures(boot["treasury"])[0]
        rows = {r["address"]: r for r in table(iog(env, "status").stdout)}
        treasury = rows[boot["treasury"]]
        assert treasury["head slot"] == str(head["slot"]) and treasury["head"] == head["signature"][:16] + "…"
        assert int(treasury["lag"]) == head["slot"] - int(treasury["slot"]) > 0
        assert rows[boot["emission_reserve"]]["lag"] == "0"  # untouched by the payments
        assert iog(env, "backfill", "--quiet").returncode == 0
        assert {r["address"]: r["lag"] for r in table(iog(env, "status").stdout)}[boot["treasury"]] == "0"

    def test_wide_shows_full_signatures(self, chain: tuple, loader: Loader, tmp_path: Path) -> None:
        env, boot = backfilled(chain, loader, tmp_path, 2)
        newest = loader.chain_signatures(boot["treasury"])[0]["signature"]
        narrow = {r["address"]: r for r in table(iog(env, "status").stdout)}[boot["treasury"]]
        assert narrow["cursor"] == newest[:16] + "…"
        wide = iog({**env, "COLUMNS": "80"}, "status", "--wide")  # a narrow terminal: still full
        assert wide.returncode == 0
        row = {r["address"]: r for r in table(wide.stdout)}[boot["treasury"]]
        assert row["cursor"] == row["head"] == newest


def _status(lag: int | None, caught_up: bool | None, error: str | None = None, at: int | None = None) -> AddressStatus:
    return AddressStatus(
        address=str(Pubkey.new_unique()), role="treasury", signature="s", slot=10, head_signature="h",
        head_slot=None if lag is None else 10 + lag, lag=lag, caught_up=caught_up, rows=None, last_error=error,
        last_error_at=at,
    )  # fmt: skip


class TestProgressLine:
    def test_caught_up(self) -> None:
        line = progress_line(StatusReport(500, [_status(0, True)]), {"finalized": 90, "confirmed": 10}, 60, 30.0)
        assert line == (
            "wrote 60 transactions in 30 s (2.0/s; 100 since start: 90 finalized, 10 pending); "
            "lag 0 slots (finalized slot 500; every address caught up); last error: none"
        )

    def test_behind_and_an_error(self) -> None:
        report = StatusReport(500, [_status(7, False, "RpcGaveUp: boom", at=1_000), _status(0, True)])
        line = progress_line(report, {"finalized": 0}, 0, 30.0, now=1_012)
        assert "lag 7 slots (finalized slot 500; behind: treasury 7)" in line
        assert line.endswith("last error (treasury, 12 s ago): RpcGaveUp: boom")

    def test_rpc_down(self) -> None:
        line = progress_line(StatusReport(None, [_status(None, None)]), {}, 0, 30.0)
        assert "lag ? (RPC not answering)" in line


def _run(env: dict[str, str]) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    proc = subprocess.Popen(
        [IOG, "indexer", "run"],
        env={**os.environ, "COLUMNS": "250", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for ln in proc.stdout:
            lines.put(ln.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_line(proc: subprocess.Popen[str], lines: queue.Queue[str], want: Any, seen: list[str]) -> str:
    """The first output line that satisfies ``want`` (within a generous deadline: a loaded machine is slow)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            ln = lines.get(timeout=0.5)
        except queue.Empty:
            assert proc.poll() is None, "\n".join(seen)
            continue
        seen.append(ln)
        if want(ln):
            return ln
    raise AssertionError("no such line:\n" + "\n".join(seen[-30:]))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


class TestRunLogsProgress:
    def test_a_line_per_interval_with_rows_rate_lag_and_last_error(
        self, chain: tuple, loader: Loader, tmp_path: Path
    ) -> None:
        node, boot, boot_file = chain
        loader.wait_finalized(loader.send(6, batch=6))
        env = settings_env(
            boot_file, f"sqlite:///{tmp_path / 'run.db'}", node.rpc_url, node.ws_url, indexer_log_seconds=0.5
        )
        proc, lines = _run(env)
        seen: list[str] = []
        try:
            assert "IOG_INDEXER_LOG_SECONDS" in _wait_line(proc, lines, lambda ln: ln.startswith("indexing "), seen)
            line = _wait_line(
                proc,
                lines,
                lambda ln: "indexer.progress" in ln and "every address caught up" in ln and " 0 since start" not in ln,
                seen,
            )
            assert "transactions in" in line and "/s;" in line and "finalized," in line and "pending)" in line
            assert "lag 0 slots (finalized slot " in line and line.endswith("last error: none")
        finally:
            _stop(proc)
        assert proc.returncode == 0

    def test_an_unreachable_rpc_shows_as_unknown_lag_and_the_last_error(self, tmp_path: Path) -> None:
        env = settings_env(
            tmp_path / "missing.json",
            f"sqlite:///{tmp_path / 'run.db'}",
            "http://127.0.0.1:9",
            "none",
            indexer_addresses=str(Pubkey.new_unique()),
            indexer_log_seconds=0.5,
            indexer_max_retries=0,
            indexer_rpc_timeout=0.5,
        )
        proc, lines = _run(env)
        seen: list[str] = []
        try:
            line = _wait_line(proc, lines, lambda ln: "indexer.progress" in ln and "last error (" in ln, seen)
            assert "lag ? (RPC not answering)" in line and "Rpc" in line.split("last error (", 1)[1]
        finally:
            _stop(proc)
