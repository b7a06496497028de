"""Service functions for the invoices and the ledger: instructions, EIP-681 links, validation."""

from __future__ import annotations

import pytest

from backend.errors import InvalidInput
from backend.evm.indexer import Watch
from backend.evm.service import (
    PaymentInstructions,
    eip681_links,
    invoice_payments,
    new_invoice_id,
    payment_instructions,
    transfer_link,
)

W = Watch(31337, "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20, 1)
INV = "0x" + "12" * 32


class TestInstructions:
    def test_links_are_the_two_eip681_calls(self) -> None:
        links = eip681_links(payment_instructions(W, INV, 12_500_000))
        assert links == {
            "approve": f"ethereum:{W.token}@31337/approve?address={W.router}&uint256=12500000",
            "pay": f"ethereum:{W.router}@31337/pay?bytes32={INV}&uint256=12500000",
        }
        assert transfer_link(W.token.upper().replace("0X", "0x"), 1, W.treasury, 5) == (
            f"ethereum:{W.token}@1/transfer?address={W.treasury}&uint256=5"
        )

    @pytest.mark.parametrize(
        "bad",
        [
            {"invoice_id": "0x12"},
            {"invoice_id": "0x" + "zz" * 32},
            {"router": "0x1234"},
            {"amount": 0},
            {"amount": -5},
            {"amount": 1.5},
            {"amount": True},
            {"amount": 2**64},
            {"chain_id": 0},
        ],
    )
    def test_bad_instructions_are_typed_errors(self, bad: dict) -> None:
        fields = {"chain_id": 31337, "router": W.router, "token": W.token, "invoice_id": INV, "amount": 1} | bad
        with pytest.raises(InvalidInput):
            PaymentInstructions(**fields)

    def test_new_ids_are_bytes32_and_distinct(self) -> None:
        ids = {new_invoice_id() for _ in range(100)}
        assert len(ids) == 100 and all(len(i) == 66 for i in ids)

    def test_instructions_of_another_deployment_are_refused(self, db_session) -> None:
        other = PaymentInstructions(1, W.router, W.token, INV, 5)
        with pytest.raises(InvalidInput, match="not those of the indexed deployment"):
            invoice_payments(db_session, W, other, 3)

    def test_before_indexing_nothing_is_claimed(self, db_session) -> None:
        got = invoice_payments(db_session, W, payment_instructions(W, INV, 5), 3)
        assert got.indexed_to_block is None and got.seen == [] and got.confirmed_head is None
