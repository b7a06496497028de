"""getBlock and the ledger-history methods: shapes, encodings, versions, commitment, and consistency with
getTransaction, getSignaturesForAddress, getBlockTime and getLatestBlockhash.

Tests that depend on a block being confirmed but not yet finalized take ``stepped_node``: the embedded node
then moves only when the test steps its clock.
"""

from __future__ import annotations

from base64 import b64decode
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.compute_budget import set_compute_unit_price
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.rpc.responses import (
    GetBlockCommitmentResp,
    GetBlockResp,
    GetBlocksWithLimitResp,
    GetFirstAvailableBlockResp,
    GetRecentPerformanceSamplesResp,
    GetTransactionCountResp,
    MinimumLedgerSlotResp,
)
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from localnet.bank import Bank
from localnet.rpc import call
from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import funded, pay, raw_rpc, typed, wait_status

CONFIRMED_V0 = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}


async def landed(c: AsyncClient, node: NodeUnderTest, tx: Any) -> tuple[Signature, int]:
    """Send ``tx``, let it be confirmed; returns (signature, slot)."""
    sig = (await c.send_transaction(tx)).value
    st = await wait_status(c, sig, "confirmed", step=node.step)
    return sig, st.slot


def block(url: str, slot: int, **cfg: Any) -> dict[str, Any]:
    return raw_rpc(url, "getBlock", [slot, cfg])


class TestBlockContents:
    async def test_block_agrees_with_transaction_history_and_blockhashes(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, step=node.step)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (await c.send_transaction(pay(kp, Keypair().pubkey(), 1234, bh))).value
            if node.engine == "embedded":  # processed only: no block at confirmed yet
                slot = raw_rpc(node.rpc_url, "getSignatureStatuses", [[str(sig)]])["result"]["value"][0]["slot"]
                assert block(node.rpc_url, slot, commitment="confirmed")["error"]["code"] == -32004
            slot = (await wait_status(c, sig, "confirmed", step=node.step)).slot

            got = block(node.rpc_url, slot, **CONFIRMED_V0)["result"]
            entries = {e["transaction"]["signatures"][0]: e for e in got["transactions"]}
            tx = raw_rpc(node.rpc_url, "getTransaction", [str(sig), CONFIRMED_V0])["result"]
            mine = entries[str(sig)]
            assert (mine["transaction"], mine["meta"], mine["version"]) == (
                tx["transaction"],
                tx["meta"],
                tx["version"],
            )
            assert got["blockTime"] == tx["blockTime"] == (await c.get_block_time(slot)).value
            found = (await c.get_signatures_for_address(kp.pubkey(), commitment=Confirmed)).value
            assert [(f.slot, f.block_time) for f in found if f.signature == sig] == [(slot, got["blockTime"])]
            # not final yet: a finalized request does not see the block (the validator's window is ~13 s)
            assert block(node.rpc_url, slot)["error"]["code"] == -32004

            parent = block(node.rpc_url, got["parentSlot"], **CONFIRMED_V0)["result"]
            assert parent["blockhash"] == got["previousBlockhash"]
            assert parent["blockHeight"] + 1 == got["blockHeight"]
            assert parent["blockTime"] <= got["blockTime"]
            if node.engine == "embedded":
                assert (got["parentSlot"], got["blockHeight"]) == (slot - 1, slot)
                assert [e["transaction"]["signatures"][0] for e in got["transactions"]] == [str(sig)]

            latest = raw_rpc(node.rpc_url, "getLatestBlockhash", [{"commitment": "confirmed"}])["result"]
            at = block(node.rpc_url, latest["context"]["slot"], commitment="confirmed", transactionDetails="none")
            assert at["result"]["blockhash"] == latest["value"]["blockhash"]

            await wait_status(c, sig, "finalized", step=node.step)
            assert block(node.rpc_url, slot, maxSupportedTransactionVersion=0)["result"] == got

    async def test_encodings_and_transaction_details(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, step=node.step)
            to = Keypair().pubkey()
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig, slot = await landed(c, node, pay(kp, to, 4321, bh))
        url, s = node.rpc_url, str(sig)

        def entry(blk: dict[str, Any]) -> dict[str, Any]:
            """The entry of our transaction in a block, whatever its encoding."""
            for e in blk["transactions"]:
                t = e["transaction"]
                first = t[0] if isinstance(t, list) else t["signatures"][0]
                if isinstance(t, list):
                    first = str(VersionedTransaction.from_bytes(b64decode(t[0])).signatures[0])
                if first == s:
                    return e
            raise AssertionError(f"{s} is not in block {slot}")

        parsed = block(url, slot, encoding="jsonParsed", **CONFIRMED_V0)["result"]
        ix = entry(parsed)["transaction"]["message"]["instructions"][0]
        assert ix["program"] == "system" and ix["parsed"]["info"]["lamports"] == 4321
        assert {k["pubkey"] for k in entry(parsed)["transaction"]["message"]["accountKeys"]} >= {str(to)}

        b64 = block(url, slot, encoding="base64", **CONFIRMED_V0)["result"]
        raw = entry(b64)["transaction"]
        assert raw[1] == "base64"
        assert VersionedTransaction.from_bytes(b64decode(raw[0])).signatures[0] == sig

        accounts = block(url, slot, transactionDetails="accounts", **CONFIRMED_V0)["result"]
        acc = entry(accounts)
        assert {k["pubkey"]: k["writable"] for k in acc["transaction"]["accountKeys"]}[str(to)] is True
        assert "logMessages" not in acc["meta"] and acc["meta"]["fee"] == 5000

        sigs = block(url, slot, transactionDetails="signatures", commitment="confirmed")["result"]
        assert s in sigs["signatures"] and "transactions" not in sigs
        none = block(url, slot, transactionDetails="none", rewards=False, commitment="confirmed")["result"]
        assert not {"transactions", "signatures", "rewards"} & none.keys()
        assert none["blockhash"] == sigs["blockhash"]
        no_rewards = block(url, slot, rewards=False, **CONFIRMED_V0)["result"]
        assert "rewards" not in no_rewards and entry(no_rewards)["meta"]["rewards"] is None

        # solders (what solana-py parses with) accepts every form
        for cfg in (
            {},
            {"encoding": "jsonParsed"},
            {"encoding": "base64"},
            {"transactionDetails": "signatures"},
            {"transactionDetails": "none"},
            {"transactionDetails": "accounts"},
        ):
            assert typed(url, GetBlockResp, "getBlock", [slot, {**CONFIRMED_V0, **cfg}]) is not None

        for bad in (
            {"commitment": "processed"},
            {"encoding": "binary64"},
            {"transactionDetails": "most"},
            {"rewards": "yes"},
            {"maxSupportedTransactionVersion": -1},
        ):
            assert block(url, slot, **bad)["error"]["code"] == -32602, bad
        assert raw_rpc(url, "getBlock", ["1"])["error"]["code"] == -32602
        assert block(url, slot + 10_000, commitment="confirmed")["error"]["code"] == -32004

    async def test_v0_transaction_needs_max_supported_version(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, step=node.step)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            ix = transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=Keypair().pubkey(), lamports=9))
            tx = VersionedTransaction(MessageV0.try_compile(kp.pubkey(), [ix], [], bh), [kp])
            sig, slot = await landed(c, node, tx)
        url = node.rpc_url
        for details in ("full", "accounts"):
            got = block(url, slot, commitment="confirmed", transactionDetails=details)
            assert got["error"]["code"] == -32015, got
        for details in ("signatures", "none"):  # no transaction is encoded: no version to check
            assert "result" in block(url, slot, commitment="confirmed", transactionDetails=details)
        for details in ("full", "accounts"):
            got = block(url, slot, transactionDetails=details, **CONFIRMED_V0)["result"]
            versions = {(e["transaction"].get("signatures") or [None])[0]: e["version"] for e in got["transactions"]}
            assert versions[str(sig)] == 0


class TestBlockLists:
    async def test_blocks_ranges_and_limits(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, step=node.step)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            _sig, slot = await landed(c, node, pay(kp, Keypair().pubkey(), 1, bh))
            confirmed = (await c.get_slot(Confirmed)).value
            url = node.rpc_url
            blocks = raw_rpc(url, "getBlocks", [max(0, slot - 2), slot + 5, {"commitment": "confirmed"}])["result"]
            assert slot in blocks and blocks == sorted(blocks) and blocks[-1] <= slot + 5
            assert raw_rpc(url, "getBlocks", [slot, {"commitment": "confirmed"}])["result"][0] == slot
            if node.engine == "embedded":  # every slot is a block, up to the confirmed one
                assert blocks == list(range(max(0, slot - 2), min(slot + 5, confirmed) + 1))
            assert typed(url, GetBlocksWithLimitResp, "getBlocksWithLimit", [slot, 1, {"commitment": "confirmed"}]) == [
                slot
            ]
            assert raw_rpc(url, "getBlocks", [slot, slot - 1, {"commitment": "confirmed"}])["result"] == []
            assert raw_rpc(url, "getBlocksWithLimit", [slot, 0, {"commitment": "confirmed"}])["result"] == []
            for method, params in (
                ("getBlocks", [slot, {"commitment": "processed"}]),
                ("getBlocks", [-1]),
                ("getBlocksWithLimit", [0, 500_001]),
                ("getBlocksWithLimit", [0]),
                ("getBlocksWithLimit", [0, 5, {"commitment": "recentish"}]),
            ):
                assert raw_rpc(url, method, params)["error"]["code"] == -32602, (method, params)
            # finalized (the default) stops at the finalized slot
            finalized = raw_rpc(url, "getBlocks", [max(0, slot - 2)])["result"]
            assert all(b < slot for b in finalized) or not finalized

    async def test_counts_and_ledger_bounds(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        url = node.rpc_url
        async with AsyncClient(url) as c:
            kp = await funded(c, step=node.step)
            before = typed(url, GetTransactionCountResp, "getTransactionCount", [{"commitment": "confirmed"}])
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            _sig, slot = await landed(c, node, pay(kp, Keypair().pubkey(), 1, bh))
            after = typed(url, GetTransactionCountResp, "getTransactionCount", [{"commitment": "confirmed"}])
            assert after >= before + 1
            if node.engine == "embedded":
                assert after == before + 1
                assert raw_rpc(url, "getTransactionCount", [{"commitment": "finalized"}])["result"] < after
            first = typed(url, GetFirstAvailableBlockResp, "getFirstAvailableBlock")
            lowest = typed(url, MinimumLedgerSlotResp, "minimumLedgerSlot")
            assert 0 <= first <= slot and 0 <= lowest <= slot
            commitment = typed(url, GetBlockCommitmentResp, "getBlockCommitment", [slot])
            assert commitment.total_stake >= 0
            if node.engine == "embedded":  # nothing stakes or votes on the embedded node
                assert (first, lowest, commitment.commitment, commitment.total_stake) == (0, 0, None, 0)
            assert raw_rpc(url, "getBlockCommitment", ["x"])["error"]["code"] == -32602


class TestPrioritizationFees:
    async def test_fee_of_the_block_and_of_a_written_account(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node
        url = node.rpc_url
        async with AsyncClient(url) as c:
            kp = await funded(c, step=node.step)
            to = Keypair().pubkey()
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            ixs = [
                set_compute_unit_price(1234),
                transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=10**6)),
            ]
            sig = (await c.send_transaction(Transaction([kp], Message(ixs, kp.pubkey()), bh))).value
            if node.engine == "embedded":  # processed only: not among the recent (confirmed) blocks yet
                slot = raw_rpc(url, "getSignatureStatuses", [[str(sig)]])["result"]["value"][0]["slot"]
                assert slot not in {f["slot"] for f in raw_rpc(url, "getRecentPrioritizationFees")["result"]}
            slot = (await wait_status(c, sig, "confirmed", step=node.step)).slot

        mine = {
            f["slot"]: f["prioritizationFee"]
            for f in raw_rpc(url, "getRecentPrioritizationFees", [[str(to)]])["result"]
        }
        assert mine[slot] == 1234  # the lowest price paid by a transaction writing `to` in that block
        block_min = {f["slot"]: f["prioritizationFee"] for f in raw_rpc(url, "getRecentPrioritizationFees")["result"]}
        assert block_min[slot] <= 1234
        assert list(block_min) == sorted(block_min) and len(block_min) <= 150
        if node.engine == "embedded":
            assert block_min[slot] == 1234  # alone in its block
            assert 0 in block_min.values()  # the airdrop's block: no price set
        assert raw_rpc(url, "getRecentPrioritizationFees", [[str(Keypair().pubkey())] * 129])["error"]["code"] == -32602
        assert raw_rpc(url, "getRecentPrioritizationFees", [["nope"]])["error"]["code"] == -32602
        assert (
            raw_rpc(url, "getRecentPrioritizationFees", [None])["result"]
            == raw_rpc(url, "getRecentPrioritizationFees", [])["result"]
        )


class TestPerformanceSamples:
    def test_shape_over_http(self, node: NodeUnderTest) -> None:
        samples = typed(node.rpc_url, GetRecentPerformanceSamplesResp, "getRecentPerformanceSamples", [5])
        assert len(samples) <= 5
        for s in samples:
            assert s.sample_period_secs > 0 and s.num_slots > 0
        assert raw_rpc(node.rpc_url, "getRecentPerformanceSamples", [721])["error"]["code"] == -32602

    def test_samples_count_slots_and_transactions_per_minute(self) -> None:
        """In-process, with the bank's clock driven: 3 whole minutes, a gap while the node was down, 1 more."""
        bank = Bank(finality_slots=4)
        t0 = bank.slot_times[0]
        bank.slot_times[bank.slot] = t0
        ticks = [t0 + 15 * k for k in range(1, 13)] + [t0 + 600 + 15 * k for k in range(1, 5)]
        for i, t in enumerate(ticks):
            if i in (1, 2, 13):
                bank.process(bank.airdrop_tx(Keypair().pubkey(), 1000 + i), preflight=True)
            bank.tick(now=t)

        def samples(*params: Any) -> list[dict[str, Any]]:
            return call(
                bank, {"jsonrpc": "2.0", "id": 1, "method": "getRecentPerformanceSamples", "params": list(params)}
            )["result"]

        got = samples()
        # newest first; each sample ends at the last slot begun in its minute; the down minutes are skipped
        assert [(s["slot"], s["numSlots"], s["numTransactions"]) for s in got] == [
            (17, 4, 1),  # minute 11: ticks at +615..+660 (slots 14-17), one airdrop landed in slot 14
            (13, 4, 0),  # minute 3: slots 10-13
            (9, 4, 0),  # minute 2: slots 6-9
            (5, 4, 2),  # minute 1: slots 2-5 (the airdrops of slots 2 and 3)
        ]
        assert {s["samplePeriodSecs"] for s in got} == {60}
        assert all(s["numNonVoteTransactions"] == s["numTransactions"] for s in got)
        assert samples(2) == got[:2]


@pytest.mark.parametrize("method", ["getBlock", "getBlocks", "getBlocksWithLimit"])
def test_processed_is_refused_like_a_validator(node: NodeUnderTest, method: str) -> None:
    params: list[Any] = (
        [0, {"commitment": "processed"}] if method != "getBlocksWithLimit" else [0, 1, {"commitment": "processed"}]
    )
    r = raw_rpc(node.rpc_url, method, params)
    assert r["error"]["code"] == -32602 and "confirmed" in r["error"]["message"]
