"""The EVM rail's scheduler jobs: nothing without configuration; idempotent passes and resumes with it."""

from __future__ import annotations

from pathlib import Path

from backend.config import Settings
from backend.evm.tasks import index_pass, resume_outbound
from tests.fixtures.evm import EvmDeployment


def test_unconfigured_rail_does_nothing(tmp_path: Path, db_url: str) -> None:
    s = Settings(data_dir=tmp_path, database_url=db_url)
    assert s.evm_rpc_url is None
    assert index_pass(s) is None and resume_outbound(s) is None


def test_index_pass_is_idempotent(evm_deployment: EvmDeployment, db_url: str, db_engine, tmp_path: Path) -> None:
    evm_deployment.pay("alice", b"\x07" * 32, 1_000_000)
    s = Settings(data_dir=tmp_path, database_url=db_url, evm_rpc_url=evm_deployment.node.rpc_url,
                 evm_bootstrap_file=evm_deployment.path)
    first = index_pass(s)
    again = index_pass(s)
    assert first is not None and first.logs == 2
    assert again is not None and again.logs == 0 and again.last_block == first.last_block
    assert resume_outbound(s) == []
