"""``iog evmnet bootstrap``: deploys and funds once; a second run sends nothing; the file is typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.evm import bootfile
from backend.evm.bootfile import EvmBootFileError
from backend.evm.bootstrap import BUYER_FUNDING, bootstrap
from backend.evm.client import EvmClient
from tests.fixtures.evm import EvmDeployment


class TestBootstrap:
    def test_second_run_sends_nothing_and_keeps_the_file(self, evm_deployment: EvmDeployment) -> None:
        dep = evm_deployment
        before = dep.path.read_text()
        again = bootstrap(EvmClient(dep.node.rpc_url), dep.path, dep.keys_dir)
        assert again.sent == [] and dep.path.read_text() == before

    def test_buyers_are_funded_and_topped_up(self, evm_deployment: EvmDeployment) -> None:
        dep = evm_deployment
        for b in dep.boot.buyers:
            assert dep.client.token_balance(dep.boot.token.address, b.address) == BUYER_FUNDING
        dep.pay("alice", b"\x01" * 32, 10)
        again = bootstrap(dep.client, dep.path, dep.keys_dir)
        assert len(again.sent) == 1  # one mint to alice, no deploy
        assert again.file.token == dep.boot.token and again.file.router == dep.boot.router

    def test_a_fresh_chain_gets_fresh_contracts(self, evm_deployment: EvmDeployment, anvil_factory) -> None:
        other = anvil_factory()
        again = bootstrap(EvmClient(other.rpc_url), evm_deployment.path, evm_deployment.keys_dir)
        assert len(again.sent) >= 2  # the recorded addresses hold no code there: deployed again


class TestBootFile:
    def test_newer_version_and_bad_address_are_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "evm.json"
        path.write_text(json.dumps({"version": 99}))
        with pytest.raises(EvmBootFileError, match="version 99"):
            bootfile.load(path)
        path.write_text(json.dumps({"rpc_url": "x", "chain_id": 1, "deployer": "0x12", "token": {}, "router": {},
                                    "treasury": "0x" + "00" * 20, "treasury_keypair_path": "k", "confirmations": 1}))
        with pytest.raises(EvmBootFileError, match="deployer"):
            bootfile.load(path)

    def test_missing_file_says_what_to_run(self, tmp_path: Path) -> None:
        with pytest.raises(EvmBootFileError, match="iog evmnet bootstrap"):
            bootfile.load(tmp_path / "nope.json")
