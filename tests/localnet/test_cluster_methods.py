"""Cluster-level JSON-RPC methods, batches and hostile input, through solana-py and raw HTTP."""

from __future__ import annotations

import asyncio
import os
import random
from base64 import b64encode

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer

from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import raw_rpc


class TestClusterInfo:
    async def test_health_version_genesis_identity(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            assert await c.is_connected()
            assert (await c.get_version()).value.solana_core
            genesis = (await c.get_genesis_hash()).value
            assert genesis == (await c.get_genesis_hash()).value
            assert (await c.get_identity()).value.identity is not None
        assert httpx.get(node.rpc_url + "/health").text == "ok"
        pre = httpx.options(node.rpc_url, headers={"Origin": "http://localhost:3000"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "*"

    async def test_slots_advance_and_commitments_are_ordered(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            first = (await c.get_slot(Processed)).value
            while (await c.get_slot(Processed)).value < first + 3:
                await asyncio.sleep(0.02)
            # finalized first: slots only grow, so each later read at a lower commitment sees at least as far
            f, cf, p = [(await c.get_slot(x)).value for x in (Finalized, Confirmed, Processed)]
            assert f <= cf <= p
            assert (await c.get_block_height(Processed)).value >= first + 3
            info = (await c.get_epoch_info(Processed)).value
            assert info.absolute_slot >= first + 3 and info.slots_in_epoch > 0
            t = (await c.get_block_time(f)).value
            assert abs(t - __import__("time").time()) < 120  # wall-clock seconds

    async def test_blockhash_validity_and_fee(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            latest = (await c.get_latest_blockhash(Confirmed)).value
            assert latest.last_valid_block_height > (await c.get_block_height(Confirmed)).value
        # solana-py 0.36 has no isBlockhashValid helper: raw JSON-RPC
        valid = raw_rpc(
            node.rpc_url, "isBlockhashValid", [str(latest.blockhash), {"commitment": "confirmed"}]
        )
        assert valid["result"]["value"] is True
        invalid = raw_rpc(
            node.rpc_url, "isBlockhashValid", [str(Hash.new_unique()), {"commitment": "confirmed"}]
        )
        assert invalid["result"]["value"] is False
        async with AsyncClient(node.rpc_url) as c:
            kp = Keypair()
            msg = Message.new_with_blockhash(
                [transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1))],
                kp.pubkey(),
                latest.blockhash,
            )
            assert (await c.get_fee_for_message(msg, Confirmed)).value == 5000
            rent = (await c.get_minimum_balance_for_rent_exemption(165)).value
            assert rent == 2_039_280  # mainnet rent parameters


class TestBatch:
    def test_batch_answers_each_call_in_order(self, node: NodeUnderTest) -> None:
        batch = [
            {"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
            {"jsonrpc": "2.0", "id": "two", "method": "getSlot", "params": [{"commitment": "processed"}]},
            {"jsonrpc": "2.0", "id": 3, "method": "noSuchMethod"},
            {"jsonrpc": "2.0", "id": 4, "method": "getBalance", "params": ["not-a-key"]},
            {"jsonrpc": "2.0", "id": 5, "method": "getBalance", "params": [str(Keypair().pubkey())]},
        ]
        out = httpx.post(node.rpc_url, json=batch).json()
        assert [r["id"] for r in out] == [1, "two", 3, 4, 5]
        assert out[0]["result"] == "ok"
        assert isinstance(out[1]["result"], int)
        assert out[2]["error"]["code"] == -32601
        assert out[3]["error"]["code"] == -32602
        assert out[4]["result"]["value"] == 0

    def test_empty_batch_is_invalid_request(self, node: NodeUnderTest) -> None:
        assert httpx.post(node.rpc_url, json=[]).json()["error"]["code"] == -32600


class TestBadInput:
    def test_error_codes(self, node: NodeUnderTest) -> None:
        r = httpx.post(
            node.rpc_url, content=b"{not json", headers={"content-type": "application/json"}
        ).json()
        assert r["error"]["code"] == -32700
        assert raw_rpc(node.rpc_url, "getNothing")["error"]["code"] == -32601
        r = raw_rpc(node.rpc_url, "getBalance", [])
        assert r["error"]["code"] == -32602
        r = raw_rpc(node.rpc_url, "getSignaturesForAddress", [str(Keypair().pubkey()), {"limit": 5000}])
        assert r["error"]["code"] == -32602 and "limit" in r["error"]["message"]
        r = raw_rpc(node.rpc_url, "sendTransaction", ["%%%", {"encoding": "base64"}])
        assert r["error"]["code"] == -32602
        r = raw_rpc(
            node.rpc_url, "sendTransaction", [b64encode(os.urandom(300)).decode(), {"encoding": "base64"}]
        )
        assert r["error"]["code"] == -32602

    @pytest.mark.timeout(120)
    async def test_thousand_malformed_requests_leave_node_healthy(self, node: NodeUnderTest) -> None:
        rng = random.Random(7)
        key = str(Keypair().pubkey())
        junk: list[bytes] = []
        for i in range(1000):
            kind = i % 10
            if kind == 0:
                junk.append(rng.randbytes(rng.randint(0, 200)))
            elif kind == 1:
                junk.append(b'{"jsonrpc":"2.0","id":1,"method":')
            elif kind == 2:
                junk.append(
                    b'{"jsonrpc":"2.0","id":1,"method":"getBalance","params":[%d]}' % rng.randint(0, 10**30)
                )
            elif kind == 3:
                junk.append(
                    b'{"jsonrpc":"2.0","id":1,"method":"getAccountInfo","params":["%s",{"encoding":7}]}'
                    % key.encode()
                )
            elif kind == 4:
                junk.append(
                    b'{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["%s"]}'
                    % b64encode(rng.randbytes(rng.randint(1, 1300)))
                )
            elif kind == 5:
                junk.append(b'[1, "x", null, {"method": 5}]')
            elif kind == 6:
                junk.append(
                    b'{"jsonrpc":"2.0","id":{"a":1},"method":"getTransaction","params":["%s"]}'
                    % rng.randbytes(8).hex().encode()
                )
            elif kind == 7:
                junk.append(
                    b'{"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":["%s",{"filters":'
                    b'[{"memcmp":{"offset":-1,"bytes":"zz"}}]}]}' % key.encode()
                )
            elif kind == 8:
                junk.append(
                    b'{"jsonrpc":"2.0","id":1,"method":"getSignatureStatuses","params":[["%s"]]}'
                    % b"1"
                    * rng.randint(0, 3)
                )
            else:
                junk.append(b'"just a string"')
        async with httpx.AsyncClient(timeout=30) as http:
            sem = asyncio.Semaphore(16)

            async def post(body: bytes) -> dict:
                async with sem:
                    r = await http.post(
                        node.rpc_url, content=body, headers={"content-type": "application/json"}
                    )
                    assert r.status_code == 200
                    return r.json()

            answers = await asyncio.gather(*(post(b) for b in junk))
        for a in answers:
            items = a if isinstance(a, list) else [a]
            for item in items:
                assert "error" in item and item["error"]["code"] in (
                    -32700,
                    -32600,
                    -32601,
                    -32602,
                    -32002,
                ), item
        async with AsyncClient(node.rpc_url) as c:
            assert await c.is_connected()
            kp = Keypair()
            sig = (await c.request_airdrop(kp.pubkey(), 10**9)).value
            from tests.localnet.helpers import wait_status

            await wait_status(c, sig, "confirmed")
            assert (await c.get_balance(kp.pubkey(), Confirmed)).value == 10**9
