"""sendTransaction rules: blockhash window, duplicates, preflight, commitment progression, simulation."""

from __future__ import annotations

import asyncio
from base64 import b64encode
from typing import Any

import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from localnet.b58 import b58encode
from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import funded, pay, raw_rpc, wait_status


def rpc_error(exc: BaseException) -> Any:
    """The JSON-RPC error object inside a solana-py RPCException."""
    return exc.args[0]


class TestPreflight:
    async def test_failing_transaction_is_rejected_and_changes_nothing(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            with pytest.raises(RPCException) as ei:
                await c.send_transaction(pay(kp, Keypair().pubkey(), 10**12, bh))
            err = rpc_error(ei.value)
            assert isinstance(err, SendTransactionPreflightFailureMessage)  # solders' parse of -32002
            assert "InstructionError" in str(err.data.err)
            assert any("insufficient lamports" in line for line in err.data.logs)
            assert (await c.get_balance(kp.pubkey(), Processed)).value == 10**9

    async def test_skip_preflight_lands_a_failed_transaction_and_charges_the_fee(
        self, node: NodeUnderTest
    ) -> None:
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (
                await c.send_transaction(
                    pay(kp, Keypair().pubkey(), 10**12, bh), opts=TxOpts(skip_preflight=True)
                )
            ).value
            st = await wait_status(c, sig, "confirmed")
            assert st.err is not None
            tx = (await c.get_transaction(sig, "json", Confirmed, max_supported_transaction_version=0)).value
            assert tx.transaction.meta.err is not None and tx.transaction.meta.fee == 5000
            assert (await c.get_balance(kp.pubkey(), Confirmed)).value == 10**9 - 5000

    def test_bad_signature_is_rejected(self, node: NodeUnderTest) -> None:
        kp = Keypair()
        tx = pay(
            kp,
            Keypair().pubkey(),
            1,
            Hash.from_string(raw_rpc(node.rpc_url, "getLatestBlockhash")["result"]["value"]["blockhash"]),
        )
        raw = bytearray(bytes(tx))
        raw[5] ^= 0xFF  # corrupt the signature
        r = raw_rpc(node.rpc_url, "sendTransaction", [b64encode(bytes(raw)).decode(), {"encoding": "base64"}])
        assert r["error"]["code"] in (-32003, -32002)


class TestDuplicatesAndBlockhashes:
    async def test_duplicate_transaction(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            to = Keypair().pubkey()
            tx = pay(kp, to, 1_000_000, (await c.get_latest_blockhash(Confirmed)).value.blockhash)
            sig = (await c.send_transaction(tx)).value
            await wait_status(c, sig, "confirmed")
            with pytest.raises(RPCException) as ei:
                await c.send_transaction(tx)
            assert isinstance(rpc_error(ei.value), SendTransactionPreflightFailureMessage)
            assert "AlreadyProcessed" in str(rpc_error(ei.value).data.err)
            again = (await c.send_transaction(tx, opts=TxOpts(skip_preflight=True))).value
            assert again == sig
            await asyncio.sleep(0.3)
            assert (await c.get_balance(to, Processed)).value == 1_000_000

    @pytest.mark.timeout(180)
    async def test_blockhash_expires_after_150_slots(
        self, node: NodeUnderTest, localnet_factory: Any
    ) -> None:
        if node.engine == "embedded":  # a faster clock so 150 slots pass in ~2 s
            n = localnet_factory(slot_ms=10, finality_slots=4)
            url = n.rpc_url
        else:
            url = node.rpc_url
        async with AsyncClient(url) as c:
            kp = await funded(c)
            old = (await c.get_latest_blockhash(Processed)).value
            while (await c.get_block_height(Processed)).value <= old.last_valid_block_height:
                await asyncio.sleep(0.1)
            assert (
                raw_rpc(url, "isBlockhashValid", [str(old.blockhash), {"commitment": "processed"}])["result"][
                    "value"
                ]
                is False
            )
            with pytest.raises(RPCException) as ei:
                await c.send_transaction(pay(kp, Keypair().pubkey(), 1, old.blockhash))
            assert "BlockhashNotFound" in str(rpc_error(ei.value).data.err)
            fresh = (await c.get_latest_blockhash(Processed)).value.blockhash
            sig = (await c.send_transaction(pay(kp, Keypair().pubkey(), 1, fresh))).value
            await wait_status(c, sig, "confirmed")


def _level(st: Any) -> str:
    return "none" if st is None else str(st.confirmation_status).rsplit(".", 1)[-1].lower()


class TestCommitment:
    async def test_confirmed_before_finalized(self, stepped_node: NodeUnderTest) -> None:
        node = stepped_node  # embedded: the clock moves only between observations, one slot per step
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, step=node.step)
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (await c.send_transaction(pay(kp, Keypair().pubkey(), 5, bh))).value
            levels: list[str] = []
            seen_confirmed_not_finalized = False
            for _ in range(200):
                # read the commitment-filtered views first, the status last: statuses only move forward
                fin = (await c.get_transaction(sig, "json", Finalized)).value
                fin_sigs = [
                    s.signature
                    for s in (await c.get_signatures_for_address(kp.pubkey(), commitment=Finalized)).value
                ]
                conf = (await c.get_transaction(sig, "json", Confirmed)).value
                level = _level((await c.get_signature_statuses([sig])).value[0])
                if not levels or levels[-1] != level:
                    levels.append(level)
                if fin is not None or sig in fin_sigs:
                    assert level == "finalized"  # finalized requests never see it earlier
                if conf is not None:
                    assert level in ("confirmed", "finalized")
                    if fin is None:
                        seen_confirmed_not_finalized = True
                if level == "finalized" and fin is not None:
                    break
                await node.step()
            assert seen_confirmed_not_finalized
            assert levels[-1] == "finalized"
            if node.engine == "embedded":  # one slot to confirmed, finality_slots (4) to finalized
                assert levels == ["processed", "confirmed", "finalized"]
            st = (await c.get_signature_statuses([sig])).value[0]
            assert st.confirmations is None


class TestAccountReadsAtCommitment:
    async def test_balance_moves_through_processed_confirmed_finalized(
        self, stepped_node: NodeUnderTest
    ) -> None:
        node = stepped_node
        async with AsyncClient(node.rpc_url) as c:
            kp = Keypair()
            sig = (await c.request_airdrop(kp.pubkey(), 777_000)).value
            seen: list[tuple[int, int, int]] = []
            for _ in range(200):
                # finalized first: each later read is at a lower commitment, so it must see at least as much
                f = (await c.get_balance(kp.pubkey(), Finalized)).value
                cf = (await c.get_balance(kp.pubkey(), Confirmed)).value
                p = (await c.get_balance(kp.pubkey(), Processed)).value
                assert (f == 0 or cf == 777_000) and (cf == 0 or p == 777_000)
                if not seen or seen[-1] != (p, cf, f):
                    seen.append((p, cf, f))
                if f == 777_000:
                    break
                await node.step()
            assert seen[-1] == (777_000, 777_000, 777_000)
            # a state where the airdrop was visible at confirmed but not yet at finalized was observed
            assert any(cf == 777_000 and f == 0 for _p, cf, f in seen), seen
            if node.engine == "embedded":
                assert seen == [(777_000, 0, 0), (777_000, 777_000, 0), (777_000, 777_000, 777_000)]
            st = await wait_status(c, sig, "finalized", step=node.step)
            assert st.err is None


class TestOtherSendPaths:
    async def test_base58_send_simulate_and_airdrop(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c, 2 * 10**9)
            to = Keypair().pubkey()
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sim = (await c.simulate_transaction(pay(kp, to, 7, bh))).value
            assert sim.err is None and sim.logs
            bad = (await c.simulate_transaction(pay(kp, to, 10**15, bh))).value
            assert bad.err is not None
            assert (await c.get_balance(to, Processed)).value == 0  # simulation changes nothing
            r = raw_rpc(node.rpc_url, "sendTransaction", [b58encode(bytes(pay(kp, to, 9, bh)))])
            assert "result" in r, r
            from solders.signature import Signature

            await wait_status(c, Signature.from_string(r["result"]), "confirmed")
            assert (await c.get_balance(to, Confirmed)).value == 9
            # two identical airdrops in a row both land
            a1 = (await c.request_airdrop(to, 1000)).value
            a2 = (await c.request_airdrop(to, 1000)).value
            assert a1 != a2
            await wait_status(c, a2, "confirmed")
            await wait_status(c, a1, "confirmed")
            assert (await c.get_balance(to, Confirmed)).value == 2009

    async def test_transaction_too_large_or_garbage(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            with pytest.raises((RPCException, SolanaRpcException)):
                await c.send_raw_transaction(b"\x01" + bytes(2000))


class TestVersionedTransactions:
    async def test_v0_transaction_needs_max_supported_version(self, node: NodeUnderTest) -> None:
        from solders.message import MessageV0
        from solders.transaction import VersionedTransaction

        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            to = Keypair().pubkey()
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            ix = transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=4321))
            tx = VersionedTransaction(MessageV0.try_compile(kp.pubkey(), [ix], [], bh), [kp])
            sig = (await c.send_transaction(tx)).value
            await wait_status(c, sig, "confirmed")
            r = raw_rpc(node.rpc_url, "getTransaction", [str(sig), {"commitment": "confirmed"}])
            assert r["error"]["code"] == -32015
            ok = (await c.get_transaction(sig, "json", Confirmed, max_supported_transaction_version=0)).value
            assert ok is not None and ok.transaction.version == 0
            assert (await c.get_balance(to, Confirmed)).value == 4321


class TestHttpGarbage:
    def test_non_http_bytes_and_bad_requests_do_not_hurt(self, node: NodeUnderTest) -> None:
        import socket
        from urllib.parse import urlparse

        u = urlparse(node.rpc_url)
        for junk in (
            b"\x00\xff garbage\r\n\r\n",
            b"GET\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"X" * 70_000,
        ):
            with socket.create_connection((u.hostname, u.port), timeout=10) as s:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                s.recv(4096)  # a 4xx answer or a closed connection, never a hang
        assert raw_rpc(node.rpc_url, "getHealth")["result"] == "ok"


class TestValidatorErrors:
    async def test_unfunded_fee_payer_is_rejected(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            kp = Keypair()
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            with pytest.raises(RPCException) as ei:
                await c.send_transaction(pay(kp, Keypair().pubkey(), 1, bh))
            assert "AccountNotFound" in str(rpc_error(ei.value).data.err)
            # with skipPreflight it is accepted and then dropped: it never gets a status
            sig = (
                await c.send_transaction(pay(kp, Keypair().pubkey(), 2, bh), opts=TxOpts(skip_preflight=True))
            ).value
            await asyncio.sleep(0.3)
            assert (await c.get_signature_statuses([sig])).value == [None]

    def test_simulate_with_accounts_and_replaced_blockhash(self, node: NodeUnderTest) -> None:
        kp = Keypair()
        to = Keypair().pubkey()
        tx = pay(kp, to, 1, Hash.new_unique())  # unknown blockhash, unfunded payer
        body = [b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
        r = raw_rpc(node.rpc_url, "simulateTransaction", body)
        assert r["result"]["value"]["err"] == "BlockhashNotFound"
        body[1] = {
            "encoding": "base64",
            "replaceRecentBlockhash": True,
            "accounts": {"addresses": [str(to)], "encoding": "base64"},
        }
        r = raw_rpc(node.rpc_url, "simulateTransaction", body)
        value = r["result"]["value"]
        assert value["replacementBlockhash"]["blockhash"]
        assert value["err"] == "AccountNotFound" and value["accounts"] == [None]
        r = raw_rpc(
            node.rpc_url,
            "simulateTransaction",
            [body[0], {"encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}],
        )
        assert r["error"]["code"] == -32602


class TestDurableNonce:
    async def test_nonce_transaction_lands_without_a_recent_blockhash(self, node: NodeUnderTest) -> None:
        from solders.system_program import (
            AdvanceNonceAccountParams,
            advance_nonce_account,
            create_nonce_account,
        )

        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            nonce = Keypair()
            rent = (await c.get_minimum_balance_for_rent_exemption(80)).value
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            ixs = list(create_nonce_account(kp.pubkey(), nonce.pubkey(), kp.pubkey(), rent))
            sig = (await c.send_transaction(Transaction([kp, nonce], Message(ixs, kp.pubkey()), bh))).value
            await wait_status(c, sig, "confirmed")
            await node.step()  # nonces only advance in a later slot

            async def nonce_value() -> Hash:
                data = bytes((await c.get_account_info(nonce.pubkey(), Confirmed)).value.data)
                return Hash(data[40:72])

            to = Keypair().pubkey()
            for amount in (11, 22):  # twice: the nonce advances and the second use sees the new value
                value = await nonce_value()
                advance = advance_nonce_account(
                    AdvanceNonceAccountParams(nonce_pubkey=nonce.pubkey(), authorized_pubkey=kp.pubkey())
                )
                pay_ix = transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=amount))
                tx = Transaction([kp], Message([advance, pay_ix], kp.pubkey()), value)
                sig = (await c.send_transaction(tx)).value
                await wait_status(c, sig, "confirmed")
                assert await nonce_value() != value
                await node.step()
            assert (await c.get_balance(to, Confirmed)).value == 33


class TestAddressLookupTables:
    async def test_v0_transaction_through_a_lookup_table(self, node: NodeUnderTest) -> None:
        import struct

        from solders.address_lookup_table_account import ID as ALT
        from solders.address_lookup_table_account import AddressLookupTableAccount
        from solders.instruction import AccountMeta, Instruction
        from solders.message import MessageV0
        from solders.transaction import VersionedTransaction

        system = Pubkey.from_string("11111111111111111111111111111111")
        async with AsyncClient(node.rpc_url) as c:
            kp = await funded(c)
            recent = (await c.get_slot(Confirmed)).value
            table, bump = Pubkey.find_program_address([bytes(kp.pubkey()), struct.pack("<Q", recent)], ALT)
            metas = [
                AccountMeta(table, False, True),
                AccountMeta(kp.pubkey(), True, False),
                AccountMeta(kp.pubkey(), True, True),
                AccountMeta(system, False, False),
            ]
            targets = [Keypair().pubkey() for _ in range(3)]
            create = Instruction(ALT, struct.pack("<IQB", 0, recent, bump), metas)
            extend = Instruction(
                ALT, struct.pack("<IQ", 2, len(targets)) + b"".join(map(bytes, targets)), metas
            )
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (
                await c.send_transaction(Transaction([kp], Message([create, extend], kp.pubkey()), bh))
            ).value
            await wait_status(c, sig, "confirmed")
            await node.step()  # extended addresses are usable from the next slot

            lut = AddressLookupTableAccount(table, targets)
            ixs = [
                transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=t, lamports=1000 + i))
                for i, t in enumerate(targets[:2])
            ]
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            tx = VersionedTransaction(MessageV0.try_compile(kp.pubkey(), ixs, [lut], bh), [kp])
            sig = (await c.send_transaction(tx)).value
            await wait_status(c, sig, "confirmed")
            assert (await c.get_balance(targets[1], Confirmed)).value == 1001
            got = (await c.get_transaction(sig, "json", Confirmed, max_supported_transaction_version=0)).value
            meta = got.transaction.meta
            assert set(meta.loaded_addresses.writable) == set(targets[:2])
            n_keys = len(got.transaction.transaction.message.account_keys) + 2
            assert len(meta.post_balances) == n_keys and {1000, 1001} <= set(meta.post_balances)
            found = (await c.get_signatures_for_address(targets[0], commitment=Confirmed)).value
            assert [f.signature for f in found] == [sig]
            parsed = (
                await c.get_transaction(sig, "jsonParsed", Confirmed, max_supported_transaction_version=0)
            ).value
            sources = {str(k.source) for k in parsed.transaction.transaction.message.account_keys}
            assert any("LookupTable" in s for s in sources)
