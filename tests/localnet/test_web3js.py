"""The block, fee, supply, token and cluster methods through @solana/web3.js 1.98, the client that failed on them.

web3.js validates every answer against its own schema, so each call succeeding is itself a shape check; the
assertions then compare its values with what the node reports over plain JSON-RPC.
"""

from __future__ import annotations

from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.compute_budget import set_compute_unit_price
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from tests.fixtures.js import JsClients
from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import funded, raw_rpc, wait_status


async def test_web3js_reads_blocks_fees_supply_tokens_and_cluster(
    node: NodeUnderTest, boot: dict[str, Any], js: JsClients
) -> None:
    async with AsyncClient(node.rpc_url) as c:
        kp = await funded(c)
        to = Keypair().pubkey()
        ixs = [
            set_compute_unit_price(5_000),
            transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=2_000_000)),
        ]
        bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
        sig = (await c.send_transaction(Transaction([kp], Message(ixs, kp.pubkey()), bh))).value
        slot = (await wait_status(c, sig, "confirmed")).slot

    out = js.run(
        "rpc_methods.mjs",
        node.rpc_url,
        {"slot": slot, "sig": str(sig), "mint": boot["mint"], "written": str(to)},
    )

    block = raw_rpc(node.rpc_url, "getBlock", [slot, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}])
    b = out["block"]
    assert b["found"] and b["fee"] == 5000 and b["version"] == "legacy"
    assert (b["blockhash"], b["previousBlockhash"], b["parentSlot"], b["blockHeight"], b["blockTime"]) == (
        block["result"]["blockhash"],
        block["result"]["previousBlockhash"],
        block["result"]["parentSlot"],
        block["result"]["blockHeight"],
        block["result"]["blockTime"],
    )
    assert str(to) in b["accountKeys"]
    assert out["parsed"] == [
        ["ComputeBudget111111111111111111111111111111", None],
        ["11111111111111111111111111111111", "transfer"],
    ]
    assert str(sig) in out["signatures"] and not out["signaturesHasRewards"]
    assert str(sig) in out["accountsMode"] and not out["noneHasTransactions"]

    assert {"slot": slot, "prioritizationFee": 5_000} in out["fees"]
    assert out["schedule"]["slotsPerEpoch"] > 0
    assert int(out["supply"]["total"]) > 0 and out["supply"]["accounts"] == 0
    holders = out["holders"]
    assert holders[0]["address"] == boot["emission_reserve"]
    assert {h["decimals"] for h in holders} == {boot["decimals"]}
    assert [int(h["amount"]) for h in holders] == sorted((int(h["amount"]) for h in holders), reverse=True)
    assert [n for n in out["nodes"] if n["pubkey"] == out["identity"]]
    assert slot in out["blocks"]
    assert out["identity"] in out["production"]["byIdentity"]
    assert out["leader"] == out["identity"] and out["leaders"] == [out["identity"]] * 2
    assert out["txCount"] >= 1 and out["firstBlock"] >= 0 and 0 < out["largest"] <= 20 and out["stakeMin"] >= 1

    if node.engine == "embedded":  # a one-node cluster without stake, votes or inflation
        assert out["schedule"] == {"slotsPerEpoch": 432_000, "warmup": False, "firstNormalSlot": 0}
        assert out["supply"]["total"] == out["supply"]["circulating"] and out["supply"]["nonCirculating"] == 0
        assert out["votes"] == {"current": 0, "delinquent": 0}
        assert len(out["nodes"]) == 1 and out["nodes"][0]["rpc"] == node.rpc_url.removeprefix("http://")
        assert out["leaderScheduleSlots"] == {out["identity"]: 432_000}
        assert out["inflation"]["total"] == 0 and out["firstBlock"] == 0
