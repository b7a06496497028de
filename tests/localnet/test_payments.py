"""An IO payment (transfer_checked + memo + reference key) found again by reference, and history paging."""

from __future__ import annotations

from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import raw_rpc, send_payment


def _tok(balances: list[Any], account_index: int) -> int:
    for b in balances:
        if b.account_index == account_index:
            return int(b.ui_token_amount.amount)
    raise AssertionError(f"no token balance for account #{account_index}")


class TestPaymentFoundByReference:
    async def test_payment_round_trip(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        reference = Keypair().pubkey()
        amount = 12_345_678_901
        async with AsyncClient(node.rpc_url) as c:
            treasury = Pubkey.from_string(boot["treasury"])
            before = int((await c.get_token_account_balance(treasury, Confirmed)).value.amount)
            sig = await send_payment(c, boot, amount, "invoice-42", reference)

            found = (await c.get_signatures_for_address(reference, commitment=Confirmed)).value
            assert [f.signature for f in found] == [sig]
            assert found[0].err is None and "invoice-42" in (found[0].memo or "")
            assert found[0].block_time is not None

            tx = (await c.get_transaction(sig, "json", Confirmed, max_supported_transaction_version=0)).value
            assert tx is not None
            meta = tx.transaction.meta
            assert meta.err is None and meta.fee == 5000
            keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
            assert str(reference) in keys
            src_i, dst_i = keys.index(boot["wallets"][0]["io_account"]), keys.index(boot["treasury"])
            assert _tok(meta.pre_token_balances, src_i) - _tok(meta.post_token_balances, src_i) == amount
            assert _tok(meta.post_token_balances, dst_i) - _tok(meta.pre_token_balances, dst_i) == amount
            assert meta.pre_balances[0] - meta.post_balances[0] == meta.fee
            assert any("Memo" in line for line in meta.log_messages)

            parsed = (
                await c.get_transaction(sig, "jsonParsed", Confirmed, max_supported_transaction_version=0)
            ).value
            ixs = parsed.transaction.transaction.message.instructions
            assert ixs[0].program == "spl-token" and ixs[0].parsed["type"] == "transferChecked"
            assert ixs[0].parsed["info"]["tokenAmount"]["amount"] == str(amount)
            assert ixs[0].parsed["info"]["destination"] == boot["treasury"]
            assert ixs[1].program == "spl-memo" and ixs[1].parsed == "invoice-42"
            key_objs = parsed.transaction.transaction.message.account_keys
            ref = next(k for k in key_objs if k.pubkey == reference)
            assert not ref.signer and not ref.writable
            assert key_objs[0].signer and key_objs[0].writable

            after = int((await c.get_token_account_balance(treasury, Confirmed)).value.amount)
            assert after - before == amount

    async def test_unknown_signature_is_null(self, node: NodeUnderTest) -> None:
        async with AsyncClient(node.rpc_url) as c:
            assert (await c.get_transaction(Signature.default(), "json", Confirmed)).value is None
            assert (await c.get_signature_statuses([Signature.default()])).value == [None]


class TestPaging:
    async def test_newest_first_and_exclusive_bounds(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        reference = Keypair().pubkey()
        async with AsyncClient(node.rpc_url) as c:
            sigs = [await send_payment(c, boot, 100 + i, f"p{i}", reference) for i in range(5)]
            newest_first = list(reversed(sigs))

            async def page(**kw: Any) -> list[Signature]:
                r = await c.get_signatures_for_address(reference, commitment=Confirmed, **kw)
                return [x.signature for x in r.value]

            assert await page() == newest_first
            assert await page(limit=2) == newest_first[:2]
            assert await page(before=newest_first[1], limit=2) == newest_first[2:4]
            assert await page(until=newest_first[3]) == newest_first[:3]
            assert await page(before=newest_first[0], until=newest_first[4]) == newest_first[1:4]
            # walking pages with `before` visits every signature exactly once
            seen: list[Signature] = []
            cursor = None
            while True:
                got = await page(before=cursor, limit=2)
                if not got:
                    break
                seen += got
                cursor = got[-1]
            assert seen == newest_first

    def test_limit_bounds(self, node: NodeUnderTest) -> None:
        key = str(Keypair().pubkey())
        for bad in (0, 1001, -1, "ten"):
            r = raw_rpc(node.rpc_url, "getSignaturesForAddress", [key, {"limit": bad}])
            assert r["error"]["code"] == -32602
        assert raw_rpc(node.rpc_url, "getSignaturesForAddress", [key, {"limit": 1000}])["result"] == []


class TestAccountsAndTokens:
    async def test_account_and_token_queries(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        from solana.rpc.types import DataSliceOpts, MemcmpOpts, TokenAccountOpts
        from spl.token.constants import TOKEN_PROGRAM_ID

        mint = Pubkey.from_string(boot["mint"])
        alice = boot["wallets"][0]
        owner = Pubkey.from_string(alice["pubkey"])
        ata = Pubkey.from_string(alice["io_account"])
        async with AsyncClient(node.rpc_url) as c:
            assert (await c.get_balance(owner, Confirmed)).value >= 10 * 10**9
            info = (await c.get_account_info(ata, Confirmed)).value
            assert info.owner == TOKEN_PROGRAM_ID and len(info.data) == 165
            parsed = (await c.get_account_info_json_parsed(ata, Confirmed)).value
            assert parsed.data.parsed["info"]["mint"] == boot["mint"]
            assert parsed.data.parsed["info"]["owner"] == alice["pubkey"]
            sliced = (
                await c.get_account_info(ata, Confirmed, data_slice=DataSliceOpts(offset=0, length=32))
            ).value
            assert bytes(sliced.data) == bytes(mint)
            multi = (await c.get_multiple_accounts([ata, Keypair().pubkey(), mint], Confirmed)).value
            assert multi[0] is not None and multi[1] is None and multi[2] is not None

            bal = (await c.get_token_account_balance(ata, Confirmed)).value
            assert bal.decimals == boot["decimals"] and int(bal.amount) > 0
            supply = (await c.get_token_supply(mint, Confirmed)).value
            assert int(supply.amount) >= int(bal.amount)

            by_mint = (
                await c.get_token_accounts_by_owner(owner, TokenAccountOpts(mint=mint), Confirmed)
            ).value
            assert [a.pubkey for a in by_mint] == [ata]
            by_prog = (
                await c.get_token_accounts_by_owner_json_parsed(
                    owner, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID), Confirmed
                )
            ).value
            assert [a.pubkey for a in by_prog] == [ata]
            assert by_prog[0].account.data.parsed["info"]["tokenAmount"]["amount"] == bal.amount

            holders = (
                await c.get_program_accounts(
                    TOKEN_PROGRAM_ID, Confirmed, filters=[165, MemcmpOpts(offset=0, bytes=str(mint))]
                )
            ).value
            holder_keys = {a.pubkey for a in holders}
            assert {
                ata,
                Pubkey.from_string(boot["treasury"]),
                Pubkey.from_string(boot["emission_reserve"]),
            } <= holder_keys
            only_alice = (
                await c.get_program_accounts_json_parsed(
                    TOKEN_PROGRAM_ID,
                    Confirmed,
                    filters=[
                        165,
                        MemcmpOpts(offset=0, bytes=str(mint)),
                        MemcmpOpts(offset=32, bytes=str(owner)),
                    ],
                )
            ).value
            assert [a.pubkey for a in only_alice] == [ata]
            mints = (await c.get_program_accounts(TOKEN_PROGRAM_ID, Confirmed, filters=[82])).value
            assert mint in {a.pubkey for a in mints}


class TestTokenHoldersAndDelegates:
    async def test_largest_holders_of_a_mint(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        mint = Pubkey.from_string(boot["mint"])
        async with AsyncClient(node.rpc_url) as c:
            largest = (await c.get_token_largest_accounts(mint, Confirmed)).value
            amounts = [int(a.amount.amount) for a in largest]
            assert amounts == sorted(amounts, reverse=True) and len(largest) <= 20
            assert {a.amount.decimals for a in largest} == {boot["decimals"]}
            # the emission reserve holds the most IO after bootstrap
            assert str(largest[0].address) == boot["emission_reserve"]
            alice = Pubkey.from_string(boot["wallets"][0]["io_account"])
            held = {a.address: int(a.amount.amount) for a in largest}
            assert held[alice] == int((await c.get_token_account_balance(alice, Confirmed)).value.amount)
        for bad in ([boot["wallets"][0]["io_account"]], [str(Keypair().pubkey())], ["nope"]):
            assert raw_rpc(node.rpc_url, "getTokenLargestAccounts", bad)["error"]["code"] == -32602

    async def test_accounts_by_delegate(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        from solana.rpc.types import TokenAccountOpts
        from solders.message import Message
        from solders.transaction import Transaction
        from spl.token.constants import TOKEN_PROGRAM_ID
        from spl.token.instructions import ApproveParams, approve

        from tests.localnet.helpers import keypair, wait_status

        alice = boot["wallets"][0]
        owner = keypair(alice["keypair_path"])
        ata = Pubkey.from_string(alice["io_account"])
        mint = Pubkey.from_string(boot["mint"])
        delegate = Keypair().pubkey()
        async with AsyncClient(node.rpc_url) as c:
            assert (
                await c.get_token_accounts_by_delegate(delegate, TokenAccountOpts(mint=mint), Confirmed)
            ).value == []
            ix = approve(
                ApproveParams(
                    program_id=TOKEN_PROGRAM_ID, source=ata, delegate=delegate, owner=owner.pubkey(), amount=777
                )
            )
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (await c.send_transaction(Transaction([owner], Message([ix], owner.pubkey()), bh))).value
            await wait_status(c, sig, "confirmed")
            by_mint = (await c.get_token_accounts_by_delegate(delegate, TokenAccountOpts(mint=mint), Confirmed)).value
            assert [a.pubkey for a in by_mint] == [ata]
            by_program = (
                await c.get_token_accounts_by_delegate_json_parsed(
                    delegate, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID), Confirmed
                )
            ).value
            assert [a.pubkey for a in by_program] == [ata]
            info = by_program[0].account.data.parsed["info"]
            assert info["delegate"] == str(delegate) and info["delegatedAmount"]["amount"] == "777"
            other = Keypair().pubkey()
            assert (await c.get_token_accounts_by_delegate(other, TokenAccountOpts(mint=mint), Confirmed)).value == []
        url = node.rpc_url
        for params in (
            [str(delegate), {"mint": boot["treasury"]}],  # a token account is not a mint
            [str(delegate), {"programId": str(Keypair().pubkey())}],
            [str(delegate), {}],
            ["nope", {"mint": boot["mint"]}],
        ):
            assert raw_rpc(url, "getTokenAccountsByDelegate", params)["error"]["code"] == -32602, params


class TestRawAccountEncodings:
    def test_base58_and_with_context(self, node: NodeUnderTest, boot: dict[str, Any]) -> None:
        from localnet.b58 import b58decode

        mint = boot["mint"]
        r = raw_rpc(node.rpc_url, "getAccountInfo", [mint, {"encoding": "base58", "commitment": "confirmed"}])
        data, enc = r["result"]["value"]["data"]
        assert enc == "base58" and len(b58decode(data)) == 82
        r = raw_rpc(
            node.rpc_url,
            "getProgramAccounts",
            [
                "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                {
                    "withContext": True,
                    "commitment": "confirmed",
                    "filters": [{"dataSize": 82}],
                    "dataSlice": {"offset": 44, "length": 1},
                },
            ],
        )
        value = r["result"]["value"]
        assert r["result"]["context"]["slot"] >= 0
        mine = [a for a in value if a["pubkey"] == mint]
        assert mine and mine[0]["account"]["data"][0] == "CA=="  # the decimals byte (8), base64


class TestJsonParsedInstructions:
    async def test_bootstrap_transactions_parse_like_a_validator(
        self, node: NodeUnderTest, boot: dict[str, Any]
    ) -> None:
        kinds: set[tuple[str, str]] = set()
        inner_kinds: set[tuple[str, str]] = set()
        async with AsyncClient(node.rpc_url) as c:
            for s in boot["sent_transactions"]:
                tx = (
                    await c.get_transaction(
                        Signature.from_string(s), "jsonParsed", Confirmed, max_supported_transaction_version=0
                    )
                ).value
                for ix in tx.transaction.transaction.message.instructions:
                    if hasattr(ix, "parsed"):
                        kinds.add((ix.program, ix.parsed["type"] if isinstance(ix.parsed, dict) else "memo"))
                for group in tx.transaction.meta.inner_instructions or []:
                    for ix in group.instructions:
                        if hasattr(ix, "parsed"):
                            inner_kinds.add((ix.program, ix.parsed["type"]))
        assert {
            ("system", "createAccount"),
            ("spl-token", "initializeMint"),
            ("system", "transfer"),
            ("spl-associated-token-account", "createIdempotent"),
            ("spl-token", "mintToChecked"),
        } <= kinds
        # the ATA program's CPIs show up parsed as inner instructions
        assert ("spl-token", "initializeAccount3") in inner_kinds
