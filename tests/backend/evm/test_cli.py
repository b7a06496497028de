"""The commands as a person runs them (subprocesses with IOG_* settings): iog evmnet up / pay / transfer,
iog evm index backfill / status, iog evm invoice; and the EVM part of iog run (anvil, bootstrap, indexer)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.db import make_engine
from backend.evm.anvil import DEV_CHAIN_ID, chain_id_at
from backend.models.evm import EvmCursor
from tests.fixtures.evm import EvmDeployment, free_port

IOG = str(Path(sys.executable).with_name("iog"))


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IOG, *args], env=env, capture_output=True, text=True, timeout=120)


def _json(out: str) -> dict:
    return json.loads(out[out.index("{"):])


@pytest.fixture
def env(evm_deployment: EvmDeployment, db_url: str, db_engine, tmp_path: Path) -> dict[str, str]:
    return dict(os.environ) | {
        "IOG_DATABASE_URL": db_url, "IOG_DATA_DIR": str(tmp_path), "IOG_EVM_BOOTSTRAP_FILE": str(evm_deployment.path),
        "IOG_EVM_RPC_URL": evm_deployment.node.rpc_url, "COLUMNS": "200",
    }


class TestCommands:
    def test_pay_index_and_look_up_an_invoice(self, evm_deployment: EvmDeployment, env: dict[str, str]) -> None:
        paid = _run(env, "evmnet", "pay", "alice", "12.5", "--invoice", "INV-1")
        assert paid.returncode == 0, paid.stdout + paid.stderr
        assert _json(paid.stdout)["amount"] == "12500000"
        assert _run(env, "evmnet", "transfer", "bob", "3").returncode == 0
        evm_deployment.mine(3)
        assert _run(env, "evm", "index", "backfill").returncode == 0
        got = _json(_run(env, "evm", "invoice", "INV-1", "--amount", "12.5").stdout)
        assert got["seen_amount"] == got["confirmed_amount"] == "12500000"
        assert got["links"]["pay"].startswith(f"ethereum:{evm_deployment.boot.router.address}@{DEV_CHAIN_ID}/pay?")
        status = _json(_run(env, "evm", "index", "status", "--json").stdout)
        assert status["rows"] == {"paid": 1, "transfer_in": 2} and status["unmatched_transfers"] == 1
        assert status["last_error"] is None and status["lag_blocks"] == 0

    def test_bad_amount_and_unknown_buyer_are_clear_errors(self, env: dict[str, str]) -> None:
        too_precise = _run(env, "evmnet", "pay", "alice", "1.1234567", "--invoice", "X")
        assert too_precise.returncode == 1 and "more than 6 decimal places" in too_precise.stdout
        nobody = _run(env, "evmnet", "pay", "mallory", "1", "--invoice", "X")
        assert nobody.returncode == 1 and "no demo buyer 'mallory'" in nobody.stdout
        assert "Traceback" not in too_precise.stderr + nobody.stderr

    def test_missing_bootstrap_file_says_what_to_run(self, env: dict[str, str], tmp_path: Path) -> None:
        out = _run(env | {"IOG_EVM_BOOTSTRAP_FILE": str(tmp_path / "none.json")}, "evm", "index", "status")
        assert out.returncode == 1 and "iog evmnet bootstrap" in out.stdout


@pytest.mark.slow
class TestProcesses:
    def test_evmnet_up_serves_and_keeps_its_state(self, anvil_factory, tmp_path: Path) -> None:
        port, state = free_port(), tmp_path / "state.json"
        env = dict(os.environ) | {"IOG_DATA_DIR": str(tmp_path)}
        url = f"http://127.0.0.1:{port}"
        for attempt in range(2):
            p = subprocess.Popen([IOG, "evmnet", "up", "--port", str(port), "--state", str(state)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while chain_id_at(url) is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert chain_id_at(url) == DEV_CHAIN_ID
                import httpx

                call = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
                if attempt == 0:
                    httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": ["0x7"]})
                assert int(httpx.post(url, json=call).json()["result"], 16) == 7  # kept across the restart
            finally:
                p.send_signal(signal.SIGTERM)
                assert p.wait(timeout=30) == 0

    def test_iog_run_starts_anvil_bootstrap_and_the_evm_indexer(
        self, anvil_factory, db_url: str, db_engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from backend.config import Settings
        from backend.runner import Supervisor, _start_evm

        url = f"http://127.0.0.1:{free_port()}"
        for k, v in {"IOG_DATA_DIR": str(tmp_path), "IOG_DATABASE_URL": db_url, "IOG_EVM_RPC_URL": url,
                     "IOG_EVM_POLL_SECONDS": "0.2"}.items():
            monkeypatch.setenv(k, v)
        sup = Supervisor()
        try:
            _start_evm(sup, Settings())
            assert [name for name, _ in sup.children] == ["anvil", "evm-indexer"]
            assert (tmp_path / "evm.json").exists()
            engine = make_engine(db_url)
            deadline = time.monotonic() + 60
            cursor = None
            while cursor is None and time.monotonic() < deadline:
                with engine.connect() as conn:
                    cursor = conn.execute(select(EvmCursor.last_block).where(EvmCursor.last_hash.is_not(None))).first()
                time.sleep(0.2)
            engine.dispose()
            assert cursor is not None  # the indexer read the chain anvil serves
        finally:
            sup.stop_all()
        assert chain_id_at(url) is None and (tmp_path / "anvil-state.json").exists()
