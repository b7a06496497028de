"""The contracts: committed artifacts equal a fresh compile (Vyper, pinned), and the router's behaviour on anvil."""

from __future__ import annotations

import pytest

from backend.evm.client import EvmTxFailed, dev_account
from backend.evm.compile import SOURCES, artifact_path, compile_source
from backend.evm.contracts import PAID_TOPIC, artifact
from tests.fixtures.evm import EvmDeployment

USDC = 10**6


class TestArtifacts:
    @pytest.mark.parametrize("name", SOURCES)
    def test_committed_artifact_equals_a_fresh_compile_byte_for_byte(self, name: str) -> None:
        pytest.importorskip("vyper", reason="vyper (dev extra) compiles the contracts")
        assert compile_source(name) == artifact_path(name).read_text()

    def test_router_abi_has_the_contract_of_the_issue(self) -> None:
        abi = artifact("PaymentRouter").abi
        pay = next(x for x in abi if x.get("name") == "pay")
        paid = next(x for x in abi if x.get("name") == "Paid")
        assert [(i["name"], i["type"]) for i in pay["inputs"]] == [("invoiceId", "bytes32"), ("amount", "uint256")]
        assert [(i["name"], i["type"], i["indexed"]) for i in paid["inputs"]] == [
            ("invoiceId", "bytes32", True), ("payer", "address", True), ("amount", "uint256", False)
        ]


class TestOnChain:
    def test_token_has_six_decimals(self, evm_deployment: EvmDeployment) -> None:
        fns = evm_deployment.client.contract("Token", evm_deployment.boot.token.address).functions
        assert fns.decimals().call() == 6 and fns.symbol().call() == "USDC"

    def test_pay_moves_usdc_to_the_treasury_and_emits_paid(self, evm_deployment: EvmDeployment) -> None:
        dep = evm_deployment
        rec = dep.pay("alice", b"\x42" * 32, 12 * USDC)
        assert dep.client.token_balance(dep.boot.token.address, dep.boot.treasury) == 12 * USDC
        paid = [lg for lg in rec["logs"] if lg["topics"][0] == PAID_TOPIC]
        assert len(paid) == 1 and paid[0]["topics"][1] == "0x" + "42" * 32

    def test_pay_without_allowance_or_of_zero_reverts(self, evm_deployment: EvmDeployment) -> None:
        dep = evm_deployment
        c, router = dep.client, dep.boot.router.address
        alice = dev_account(1)
        with pytest.raises(EvmTxFailed):
            c.send_and_wait(alice, {"to": router, "data": c.call_data("PaymentRouter", router, "pay", b"\x01" * 32, 1)})
        with pytest.raises(EvmTxFailed):
            c.send_and_wait(alice, {"to": router, "data": c.call_data("PaymentRouter", router, "pay", b"\x01" * 32, 0)})
