"""Decoders on recorded getTransaction responses (golden files) and on hand-built edge cases."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from indexer.decode import decode_transaction
from tests.indexer.golden import RESOURCES, check_golden, context

CTX_FILE = "handmade_meta.json"


def load(name: str) -> dict:
    return json.loads((RESOURCES / f"handmade_{name}.json").read_text())


class TestGoldenHandmade:
    @pytest.mark.parametrize(
        "name",
        ["payment_two_refs", "cpi_stake", "other_mint", "failed_payment", "events_mixed", "v0_lookup_table"],
    )
    def test_decoded_rows_match_golden_file(self, name: str) -> None:
        check_golden(RESOURCES / f"handmade_{name}.json", context(CTX_FILE))

    def test_a_missing_golden_file_fails_instead_of_being_written(self, tmp_path: Path) -> None:
        recorded = tmp_path / "handmade_payment_two_refs.json"
        shutil.copy(RESOURCES / recorded.name, recorded)
        with pytest.raises(AssertionError, match="is missing"):
            check_golden(recorded, context(CTX_FILE))
        assert not recorded.with_suffix(".expected.json").exists()

    def test_payment_has_amount_mint_memo_and_both_references(self) -> None:
        got = check_golden(RESOURCES / "handmade_payment_two_refs.json", context(CTX_FILE))
        (t,) = got["transfers"]
        meta = json.loads((RESOURCES / CTX_FILE).read_text())
        assert (t["amount"], t["mint"], t["is_io"], t["memo"]) == (
            1234567,
            meta["io_mint"],
            True,
            "invoice-42",
        )
        assert sorted(r["reference"] for r in got["references"]) == sorted(meta["references"])

    def test_cpi_transfers_are_inner_paths_and_plain_transfer_gets_mint_from_balances(self) -> None:
        got = check_golden(RESOURCES / "handmade_cpi_stake.json", context(CTX_FILE))
        assert [(t["ix_path"], t["kind"], t["amount"]) for t in got["transfers"]] == [
            ("0.0", "transferChecked", 500),
            ("0.1", "transfer", 7),
        ]
        assert all(t["is_io"] for t in got["transfers"])

    def test_event_logged_by_a_cpi_callee_is_not_the_programs(self) -> None:
        got = check_golden(RESOURCES / "handmade_cpi_stake.json", context(CTX_FILE))
        assert [e["name"] for e in got["events"]] == ["Staked"]
        assert json.loads(got["events"][0]["fields"])["amount"] == "500"

    def test_other_mint_is_recorded_but_not_io(self) -> None:
        got = check_golden(RESOURCES / "handmade_other_mint.json", context(CTX_FILE))
        (t,) = got["transfers"]
        assert t["is_io"] is False and t["mint"] and t["amount"] == 99

    def test_v0_transaction_resolves_loaded_addresses(self) -> None:
        got = check_golden(RESOURCES / "handmade_v0_lookup_table.json", context(CTX_FILE))
        meta = json.loads((RESOURCES / CTX_FILE).read_text())
        (t,) = got["transfers"]
        assert t["destination"] == meta["watched"][0] and t["amount"] == 4242 and t["is_io"]
        assert [r["reference"] for r in got["references"]] == [meta["references"][1]]

    def test_failed_transaction_is_flagged(self) -> None:
        got = check_golden(RESOURCES / "handmade_failed_payment.json", context(CTX_FILE))
        assert got["tx"]["failed"] is True and all(t["failed"] for t in got["transfers"])

    def test_truncated_unknown_and_padded_events_are_kept_raw_with_an_error(self) -> None:
        got = check_golden(RESOURCES / "handmade_events_mixed.json", context(CTX_FILE))
        evs = got["events"]
        assert [e["event_index"] for e in evs] == [0, 1, 2, 3, 4]
        assert evs[0]["error"] is None and evs[0]["name"] == "Withdrawn"
        assert "truncated" in evs[1]["error"] and evs[1]["fields"] is None
        assert "unknown discriminator" in evs[2]["error"]
        assert "base64" in evs[3]["error"]
        assert "trailing" in evs[4]["error"]
        assert all(e["raw"] for e in evs)


NODE = "node_meta.json"


class TestGoldenRecordedFromNode:
    """Responses recorded from the embedded node (tests/resources/indexer/record_from_node.py)."""

    @pytest.mark.parametrize(
        "name",
        ["payment_two_refs", "cpi_stake", "other_mint", "failed_payment", "unstake_event", "truncated_event"],
    )
    def test_decoded_rows_match_golden_file(self, name: str) -> None:
        check_golden(RESOURCES / f"node_{name}.json", context(NODE))

    def test_payment_with_two_references_and_memo(self) -> None:
        got = check_golden(RESOURCES / "node_payment_two_refs.json", context(NODE))
        meta = json.loads((RESOURCES / NODE).read_text())
        (t,) = got["transfers"]
        assert (t["kind"], t["amount"], t["is_io"], t["memo"]) == (
            "transferChecked",
            1234567,
            True,
            "invoice-42",
        )
        assert t["destination"] == meta["watched"][0]
        assert sorted(r["reference"] for r in got["references"]) == sorted(meta["references"])

    def test_stake_cpi_transfer_into_the_vault_and_its_event(self) -> None:
        got = check_golden(RESOURCES / "node_cpi_stake.json", context(NODE))
        meta = json.loads((RESOURCES / NODE).read_text())
        (t,) = got["transfers"]
        assert t["ix_path"] == "0.1" and t["kind"] == "transfer" and t["is_io"]  # mint from token balances
        assert t["destination"] == meta["watched"][1]
        (ev,) = got["events"]
        assert ev["name"] == "Staked" and ev["error"] is None
        assert json.loads(ev["fields"])["amount"] == str(t["amount"])

    def test_other_mint_is_not_io(self) -> None:
        got = check_golden(RESOURCES / "node_other_mint.json", context(NODE))
        (t,) = got["transfers"]
        assert t["amount"] == 99 and t["is_io"] is False and t["mint"] != context(NODE).io_mint

    def test_failed_payment_is_recorded_as_failed(self) -> None:
        got = check_golden(RESOURCES / "node_failed_payment.json", context(NODE))
        assert got["tx"]["failed"] and got["tx"]["err"] and all(t["failed"] for t in got["transfers"])

    def test_truncated_event_is_kept_raw_and_the_transfer_still_decodes(self) -> None:
        got = check_golden(RESOURCES / "node_truncated_event.json", context(NODE))
        (ev,) = got["events"]
        assert ev["fields"] is None and "truncated" in ev["error"] and ev["raw"]
        assert len(got["transfers"]) == 1


class TestMalformedInput:
    def test_missing_message_gives_none(self) -> None:
        rec = load("payment_two_refs")
        broken = copy.deepcopy(rec["result"])
        del broken["transaction"]["message"]
        assert decode_transaction(rec["signature"], broken, context(CTX_FILE), "finalized") is None

    def test_response_for_another_signature_gives_none(self) -> None:
        rec = load("payment_two_refs")
        assert decode_transaction("1" * 64, rec["result"], context(CTX_FILE), "finalized") is None

    def test_short_transfer_data_is_skipped_not_crashed(self) -> None:
        rec = load("other_mint")
        res = copy.deepcopy(rec["result"])
        res["transaction"]["message"]["instructions"][0]["data"] = "2"  # tag 3 only... b58 '2' = 0x01
        d = decode_transaction(rec["signature"], res, context(CTX_FILE), "finalized")
        assert d is not None and d.transfers == []

    def test_unwatched_transfer_is_ignored(self) -> None:
        rec = load("other_mint")
        ctx = context(CTX_FILE)
        ctx.watched = frozenset()
        d = decode_transaction(rec["signature"], rec["result"], ctx, "finalized")
        assert d is not None and d.transfers == [] and d.tx["signature"] == rec["signature"]
