"""The pure log decoders on eth_getLogs answers recorded from anvil (tests/resources/evm), and on broken ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backend.evm.decode import decode_log, decode_logs
from backend.models.evm import PAID, TRANSFER_IN

GOLDEN = Path(__file__).resolve().parents[2] / "resources/evm/getlogs_anvil.json"
ALICE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())  # a missing golden file fails the test


class TestRecorded:
    def test_paid_log_names_invoice_payer_and_amount(self, recorded: dict[str, Any]) -> None:
        (paid,) = recorded["paid"]
        d = decode_log(paid, recorded["treasury"])
        assert d is not None and d.kind == PAID
        assert (d.invoice_id, d.payer, d.amount, d.recipient) == ("0x" + "01" * 32, ALICE, 12_500_000,
                                                                 recorded["treasury"])
        assert d.contract == recorded["router"] and d.block_number == int(paid["blockNumber"], 16)

    def test_transfers_into_the_treasury(self, recorded: dict[str, Any]) -> None:
        decoded, bad = decode_logs(recorded["transfers_in"], recorded["treasury"])
        assert bad == 0
        assert [(d.kind, d.payer, d.amount) for d in decoded] == [
            (TRANSFER_IN, ALICE, 12_500_000),  # through the router (transferFrom)
            (TRANSFER_IN, ALICE, 3_000_000),  # plain transfer
        ]
        assert decoded[0].tx_hash == recorded["paid"][0]["transactionHash"]


def _broken(log: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(log)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


class TestMalformed:
    @pytest.mark.parametrize(
        "changes",
        [
            {"topics": []},
            {"data": "0x"},
            {"data": "0x" + "zz" * 32},
            {"blockNumber": None},
            {"transactionHash": "0x12"},
            {"logIndex": 7},
        ],
    )
    def test_gives_none_and_is_counted(self, recorded: dict[str, Any], changes: dict[str, Any]) -> None:
        bad_log = _broken(recorded["paid"][0], **changes)
        assert decode_log(bad_log, recorded["treasury"]) is None
        assert decode_logs([bad_log, *recorded["paid"]], recorded["treasury"])[1] == 1

    def test_unknown_topic_and_non_object(self, recorded: dict[str, Any]) -> None:
        other = _broken(recorded["paid"][0], topics=["0x" + "00" * 32, *recorded["paid"][0]["topics"][1:]])
        assert decode_log(other, recorded["treasury"]) is None
        assert decode_log("not a log", recorded["treasury"]) is None

    def test_removed_logs_are_skipped_not_counted(self, recorded: dict[str, Any]) -> None:
        gone = _broken(recorded["paid"][0], removed=True)
        assert decode_logs([gone], recorded["treasury"]) == ([], 0)

    def test_amount_is_the_exact_uint256(self, recorded: dict[str, Any]) -> None:
        huge = _broken(recorded["paid"][0], data="0x" + "ff" * 32)
        d = decode_log(huge, recorded["treasury"])
        assert d is not None and d.amount == 2**256 - 1
