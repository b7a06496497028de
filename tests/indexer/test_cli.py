"""`iog indexer ...` as a user runs it: subprocesses with IOG_* variables against the embedded node."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.indexer.chainload import Loader
from tests.indexer.conftest import settings_env

IOG = str(Path(sys.executable).with_name("iog"))


def iog(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IOG, "indexer", *args],
        env={**os.environ, "COLUMNS": "250", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestCli:
    def test_backfill_status_reconcile(self, chain: tuple, loader: Loader, tmp_path: Path) -> None:
        node, boot, boot_file = chain
        loader.wait_finalized(loader.send(30, batch=30))
        env = settings_env(boot_file, f"sqlite:///{tmp_path / 'cli.db'}", node.rpc_url, node.ws_url)
        r = iog(env, "backfill", "--quiet")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "backfilled 3" in r.stdout  # 30 payments + bootstrap's transactions
        st = iog(env, "status")
        assert st.returncode == 0 and "treasury" in st.stdout and boot["treasury"][:12] in st.stdout
        rec = iog(env, "reconcile")
        assert rec.returncode == 0, rec.stdout + rec.stderr
        assert "NO" not in rec.stdout

    def test_reconcile_reports_a_difference_and_exits_nonzero(
        self, chain: tuple, loader: Loader, tmp_path: Path
    ) -> None:
        node, boot, boot_file = chain
        loader.wait_finalized(loader.send(5, batch=5))
        env = settings_env(boot_file, f"sqlite:///{tmp_path / 'cli.db'}", node.rpc_url)
        assert iog(env, "backfill", "--quiet").returncode == 0
        loader.wait_finalized(loader.send(2, batch=2))  # on chain, not yet indexed
        rec = iog(env, "reconcile")
        assert rec.returncode == 1 and "NO" in rec.stdout
        assert iog(env, "reconcile", "--repair").returncode == 0

    def test_nothing_to_watch_is_a_clear_error(self, tmp_path: Path) -> None:
        env = settings_env(tmp_path / "missing.json", f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9")
        r = iog(env, "backfill", "--quiet")
        assert r.returncode == 1 and "ConfigError" in r.stdout and "nothing to watch" in r.stdout

    def test_invalid_setting_is_a_clear_error(self, tmp_path: Path) -> None:
        env = settings_env(
            tmp_path / "missing.json",
            f"sqlite:///{tmp_path / 'x.db'}",
            "http://127.0.0.1:9",
            indexer_batch_size="lots",
        )
        r = iog(env, "backfill", "--quiet")
        assert r.returncode == 1 and "indexer_batch_size" in r.stdout and "Traceback" not in r.stdout + r.stderr

    def test_unreachable_rpc_is_an_error_shown_by_status(self, chain: tuple, tmp_path: Path) -> None:
        node, boot, boot_file = chain
        env = settings_env(
            boot_file,
            f"sqlite:///{tmp_path / 'x.db'}",
            "http://127.0.0.1:9",
            indexer_max_retries=1,
            indexer_rpc_timeout=0.5,
        )
        r = iog(env, "backfill", "--quiet")
        assert r.returncode == 1 and "RpcGaveUp" in r.stdout
        st = iog(env, "status")
        assert st.returncode == 0 and "RpcGaveUp" in st.stdout and "?" in st.stdout  # lag unknown

    def test_bad_address_is_refused(self, tmp_path: Path) -> None:
        env = settings_env(
            tmp_path / "missing.json",
            f"sqlite:///{tmp_path / 'x.db'}",
            "http://127.0.0.1:9",
            indexer_addresses="not-a-key",
        )
        r = iog(env, "backfill", "--quiet")
        assert r.returncode == 1 and "not a base58 public key" in r.stdout

    def test_second_indexer_on_the_same_database_is_refused_and_metrics_are_served(
        self, chain: tuple, tmp_path: Path
    ) -> None:
        node, boot, boot_file = chain
        port = free_port()
        env = settings_env(
            boot_file,
            f"sqlite:///{tmp_path / 'cli.db'}",
            node.rpc_url,
            node.ws_url,
            indexer_metrics_port=port,
        )
        first = subprocess.Popen(
            [IOG, "indexer", "run"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            body = ""
            deadline = time.monotonic() + 60
            while "iog_indexer_ingested_transactions_total{" not in body:
                assert time.monotonic() < deadline and first.poll() is None, "metrics never appeared"
                time.sleep(0.2)
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                except httpx.HTTPError:
                    pass
            assert "iog_indexer_rpc_calls_total" in body and "iog_indexer_lag_slots" in body
            second = iog(env, "backfill", "--quiet")
            assert second.returncode == 1 and "LockHeld" in second.stdout
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(30)
        assert first.returncode == 0
