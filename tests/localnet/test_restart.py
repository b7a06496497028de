"""Across a restart, even ``kill -9``, the node serves every commitment level exactly as clients last saw it.

The node under test runs in its own process on a manual clock (tests/localnet/node_process.py): no slot passes
unless the test says so, so the views read right after a restart are the restored ones, not a tick later.
"""

from __future__ import annotations

from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.bank import Bank
from localnet.rpc import call
from tests.localnet.helpers import pay, raw_batch, raw_rpc
from tests.localnet.node_process import NodeProcess

COMMITMENTS = ("processed", "confirmed", "finalized")


def send(url: str, kp: Keypair, to: Pubkey, lamports: int) -> str:
    bh = raw_rpc(url, "getLatestBlockhash", [{"commitment": "processed"}])["result"]["value"]["blockhash"]
    raw = b64encode(bytes(pay(kp, to, lamports, Hash.from_string(bh)))).decode()
    r = raw_rpc(url, "sendTransaction", [raw, {"encoding": "base64"}])
    assert "result" in r, r
    return str(r["result"])


def views(url: str, sigs: list[str], keys: list[str], slots: range) -> dict[str, Any]:
    """Every view a client has of the chain, by call, read in one batch (so at one instant)."""
    calls: list[tuple[str, list[Any]]] = [("getGenesisHash", []), ("getIdentity", [])]
    for c in COMMITMENTS:
        cfg = {"commitment": c}
        calls += [(m, [cfg]) for m in ("getSlot", "getBlockHeight", "getLatestBlockhash", "getEpochInfo")]
        calls += [("getTransactionCount", [cfg]), ("getSupply", [cfg])]
        calls += [("getBalance", [k, cfg]) for k in keys]
        calls += [("getAccountInfo", [k, {**cfg, "encoding": "base64"}]) for k in keys]
    for c in ("confirmed", "finalized"):
        v0 = {"commitment": c, "maxSupportedTransactionVersion": 0}
        calls += [("getSignaturesForAddress", [k, {"commitment": c}]) for k in keys]
        calls += [("getTransaction", [s, v0]) for s in sigs]
        calls += [("getBlock", [slot, v0]) for slot in slots]
        calls += [("getBlocks", [0, {"commitment": c}])]
    calls += [("getSignatureStatuses", [sigs]), ("getRecentPrioritizationFees", [])]
    calls += [("getBlockTime", [slot]) for slot in slots]
    return {f"{m} {p}": answer for (m, p), answer in zip(calls, raw_batch(url, calls), strict=True)}


def assert_same(after: dict[str, Any], before: dict[str, Any]) -> None:
    changed = [k for k in before if after[k] != before[k]]
    assert not changed, "\n".join(f"{k}:\n  before {before[k]}\n  after  {after[k]}" for k in changed[:5])


@pytest.mark.timeout(180)
def test_every_commitment_view_survives_kill_9(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    node = NodeProcess(ledger)
    try:
        first = raw_batch(node.rpc_url, [("getGenesisHash", []), ("getIdentity", [])])
        node.kill()  # before any slot passed: the genesis a client saw must be the one that comes back
        node = NodeProcess(ledger)
        assert raw_batch(node.rpc_url, [("getGenesisHash", []), ("getIdentity", [])]) == first

        url = node.rpc_url
        alice, bob, carol = Keypair(), Keypair().pubkey(), Keypair().pubkey()
        sigs = [raw_rpc(url, "requestAirdrop", [str(alice.pubkey()), 10**9])["result"]]
        node.advance(5)  # the airdrop is finalized (finality_slots 4)
        sigs.append(send(url, alice, bob, 111_000))
        node.advance(2)  # the payment to bob is confirmed, not finalized
        sigs.append(send(url, alice, carol, 222_000))  # the payment to carol is only processed
        statuses = raw_rpc(url, "getSignatureStatuses", [sigs])["result"]["value"]
        assert [s["confirmationStatus"] for s in statuses] == ["finalized", "confirmed", "processed"]
        slot = raw_rpc(url, "getSlot", [{"commitment": "processed"}])["result"]
        keys = [str(alice.pubkey()), str(bob), str(carol)]
        before = views(url, sigs, keys, range(slot + 1))

        node.kill()
        node = NodeProcess(ledger)
        assert_same(views(node.rpc_url, sigs, keys, range(slot + 1)), before)

        # and the chain goes on from there
        node.advance(4)
        statuses = raw_rpc(node.rpc_url, "getSignatureStatuses", [sigs])["result"]["value"]
        assert [s["confirmationStatus"] for s in statuses] == ["finalized"] * 3
        assert raw_rpc(node.rpc_url, "getBalance", [str(carol)])["result"]["value"] == 222_000
    finally:
        node.close()


def test_finalized_never_steps_back_when_finality_grows(tmp_path: Path) -> None:
    """A restart with a larger --finality-slots keeps what was already finalized final."""
    bank = Bank(finality_slots=4, ledger_dir=tmp_path)
    rec = bank.process(bank.airdrop_tx(Keypair().pubkey(), 5_000_000), preflight=True)
    assert rec is not None
    for _ in range(10):
        bank.tick()
    finalized = bank.commitment_slot("finalized")
    assert bank.status_of(rec) == "finalized" and finalized == bank.slot - 4
    bank.close()

    bank = Bank(finality_slots=32, ledger_dir=tmp_path)
    try:
        assert bank.commitment_slot("finalized") == finalized
        assert bank.status_of(bank.by_sig[rec.signature]) == "finalized"
        got = call(bank, {"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": [{"commitment": "finalized"}]})
        assert got["result"] == finalized
        bank.tick()
        assert bank.commitment_slot("finalized") == finalized  # held until slot - 32 passes it
    finally:
        bank.close()
