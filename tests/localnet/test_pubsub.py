"""PubSub through solana-py's websocket client: logs, signature, account, program and slot subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.types import MemcmpOpts
from solana.rpc.websocket_api import SolanaWsClientProtocol, connect
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilter, RpcTransactionLogsFilterMentions
from spl.token.constants import TOKEN_PROGRAM_ID

from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import send_payment, wait_status


async def subscribed(ws: SolanaWsClientProtocol) -> int:
    """Wait for the subscription id answering the last subscribe call."""
    msg = (await asyncio.wait_for(ws.recv(), 30))[0]
    return msg.result


async def notification(ws: SolanaWsClientProtocol, timeout: float = 30.0) -> Any:
    msgs = await asyncio.wait_for(ws.recv(), timeout)
    return msgs[0]


class TestLogsAndSignature:
    async def test_logs_mentions_and_all(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        reference = Keypair().pubkey()
        async with connect(node.ws_url) as ws, AsyncClient(node.rpc_url) as c:
            await ws.logs_subscribe(RpcTransactionLogsFilterMentions(reference), Confirmed)
            mention_id = await subscribed(ws)
            sig = await send_payment(c, boot, 1, "logs", reference)
            note = await notification(ws)
            assert note.subscription == mention_id
            assert note.result.value.signature == sig
            assert any("Memo" in line for line in note.result.value.logs)
            await ws.logs_unsubscribe(mention_id)
            assert (await notification(ws)).result is True

            await ws.logs_subscribe(RpcTransactionLogsFilter.All, Processed)
            all_id = await subscribed(ws)
            sig2 = await send_payment(c, boot, 2, "logs-all", Keypair().pubkey())
            seen = set()
            while sig2 not in seen:
                n = await notification(ws)
                assert n.subscription == all_id
                seen.add(n.result.value.signature)

    async def test_signature_subscribe_waits_for_its_commitment(
        self, node: NodeUnderTest, boot: dict[str, Any]
    ) -> None:
        async with connect(node.ws_url) as ws, AsyncClient(node.rpc_url) as c:
            sig = await send_payment(c, boot, 3, "sig", Keypair().pubkey())  # returns once confirmed
            await ws.signature_subscribe(sig, Finalized)
            await subscribed(ws)
            note = await notification(ws, 90)
            assert note.result.value.err is None
            st = (await c.get_signature_statuses([sig])).value[0]
            assert str(st.confirmation_status).endswith("Finalized")
            # already finalized: a new subscription is answered at once
            await ws.signature_subscribe(sig, Confirmed)
            await subscribed(ws)
            assert (await notification(ws)).result.value.err is None


class TestAccountProgramSlot:
    async def test_account_and_program_notifications(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        treasury = Pubkey.from_string(boot["treasury"])
        async with connect(node.ws_url) as ws, AsyncClient(node.rpc_url) as c:
            await ws.account_subscribe(treasury, Confirmed, "jsonParsed")
            acc_id = await subscribed(ws)
            await ws.program_subscribe(
                TOKEN_PROGRAM_ID, Confirmed, "base64", filters=[165, MemcmpOpts(offset=0, bytes=boot["mint"])]
            )
            prog_id = await subscribed(ws)
            await send_payment(c, boot, 777, "acct", Keypair().pubkey())
            got: dict[int, Any] = {}
            while not {acc_id, prog_id} <= got.keys():
                n = await notification(ws)
                got.setdefault(n.subscription, []).append(n.result)
            acct = got[acc_id][0].value
            assert acct.owner == TOKEN_PROGRAM_ID
            assert acct.data.parsed["info"]["tokenAmount"]["amount"] == str(
                int((await c.get_token_account_balance(treasury, Confirmed)).value.amount)
            )
            changed = {r.value.pubkey for r in got[prog_id]}
            assert changed & {treasury, Pubkey.from_string(boot["wallets"][0]["io_account"])}
            await ws.account_unsubscribe(acc_id)
            await ws.program_unsubscribe(prog_id)

    async def test_slot_subscribe_and_unsubscribe(self, node: NodeUnderTest) -> None:
        async with connect(node.ws_url) as ws:
            await ws.slot_subscribe()
            sid = await subscribed(ws)
            slots = []
            while len(slots) < 3:
                n = await notification(ws)
                slots.append(n.result.slot)
                assert n.result.root <= n.result.slot
            assert slots == sorted(slots) and len(set(slots)) == 3
            await ws.slot_unsubscribe(sid)
            # drain until the unsubscribe answer, then nothing more arrives for it
            while True:
                n = await notification(ws)
                if getattr(n, "result", None) is True:
                    break
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)

    async def test_bad_subscription_requests_get_errors(self, node: NodeUnderTest) -> None:
        import websockets

        async with websockets.connect(node.ws_url) as raw:
            await raw.send('{"jsonrpc":"2.0","id":1,"method":"accountSubscribe","params":["nope"]}')
            assert '"code":-32602' in (await raw.recv()).replace(" ", "")
            await raw.send("not json")
            assert '"code":-32700' in (await raw.recv()).replace(" ", "")
            await raw.send('{"jsonrpc":"2.0","id":2,"method":"slotUnsubscribe","params":[999999]}')
            assert '"error"' in await raw.recv()
            await raw.send('{"jsonrpc":"2.0","id":3,"method":"fooSubscribe","params":[]}')
            assert '"code":-32601' in (await raw.recv()).replace(" ", "")


async def test_signature_unsubscribe(node: NodeUnderTest) -> None:
    from solders.signature import Signature

    async with connect(node.ws_url) as ws:
        await ws.signature_subscribe(Signature.default(), Confirmed)
        sid = await subscribed(ws)
        await ws.signature_unsubscribe(sid)
        assert (await notification(ws)).result is True


async def test_airdrop_visible_to_signature_subscription(node: NodeUnderTest) -> None:
    async with connect(node.ws_url) as ws, AsyncClient(node.rpc_url) as c:
        sig = (await c.request_airdrop(Keypair().pubkey(), 10**6)).value
        await ws.signature_subscribe(sig, Confirmed)
        await subscribed(ws)
        assert (await notification(ws)).result.value.err is None
        await wait_status(c, sig, "confirmed")
