"""Every JSON-RPC method, fed arbitrary params, answers a result or a typed error: never -32603 or a crash.

Runs the RPC layer in-process over a real Bank (LiteSVM) for speed; the HTTP tests cover the transport.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.keypair import Keypair

from localnet.bank import Bank
from localnet.rpc import METHODS, call, handle

KEY = str(Keypair().pubkey())
SIG = "5" * 87

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(0, 12),  # slots this bank has: blocks, ranges and limits that hit data
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [KEY, SIG, "base64", "jsonParsed", "confirmed", "finalized", "AAAA", "full", "accounts", "signatures", "none"]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "commitment",
                    "encoding",
                    "limit",
                    "before",
                    "until",
                    "filters",
                    "memcmp",
                    "dataSize",
                    "offset",
                    "bytes",
                    "dataSlice",
                    "length",
                    "mint",
                    "programId",
                    "skipPreflight",
                    "sigVerify",
                    "replaceRecentBlockhash",
                    "accounts",
                    "addresses",
                    "maxSupportedTransactionVersion",
                    "withContext",
                    "transactionDetails",
                    "rewards",
                    "identity",
                    "range",
                    "firstSlot",
                    "lastSlot",
                    "votePubkey",
                    "keepUnstakedDelinquents",
                    "delinquentSlotDistance",
                    "excludeNonCirculatingAccountsList",
                    "filter",
                    "sortResults",
                    "x",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def bank() -> Bank:
    """A bank with a few blocks holding legacy and v0 transactions, some confirmed, some finalized."""
    from solders.message import MessageV0
    from solders.system_program import TransferParams, transfer
    from solders.transaction import VersionedTransaction

    b = Bank(finality_slots=4)
    for i in range(6):
        b.process(b.airdrop_tx(Keypair().pubkey(), 10_000 + i), preflight=True)
        ix = transfer(TransferParams(from_pubkey=b.faucet.pubkey(), to_pubkey=Keypair().pubkey(), lamports=7))
        bh = Hash.from_string(b.blockhash_at(b.slot))
        b.process(VersionedTransaction(MessageV0.try_compile(b.faucet.pubkey(), [ix], [], bh), [b.faucet]), True)
        b.tick()
    return b


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(values, max_size=4))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_never_fails_internally(bank: Bank, method: str, params: list[Any]) -> None:
    out = call(bank, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    orjson.dumps(out)  # the answer always serialises
    if "error" in out:
        assert out["error"]["code"] != -32603, (method, params, out)
        assert out["error"]["message"]
    else:
        assert "result" in out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_arbitrary_bodies_get_json_rpc_answers(bank: Bank, body: bytes) -> None:
    out = orjson.loads(handle(bank, body))
    items = out if isinstance(out, list) else [out]
    for item in items:
        assert item.get("error", {}).get("code") != -32603


PROGRAMS = [
    "11111111111111111111111111111111",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    str(Keypair().pubkey()),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    program=st.sampled_from(PROGRAMS),
    data=st.binary(max_size=80),
    n_accounts=st.integers(0, 6),
    writable=st.lists(st.booleans(), min_size=6, max_size=6),
    skip=st.booleans(),
    nonce=st.integers(0, 2**32),
)
def test_arbitrary_instructions_land_or_fail_cleanly(
    bank: Bank, program: str, data: bytes, n_accounts: int, writable: list[bool], skip: bool, nonce: int
) -> None:
    from base64 import b64encode

    from solders.hash import Hash
    from solders.instruction import AccountMeta, Instruction
    from solders.message import Message
    from solders.pubkey import Pubkey
    from solders.transaction import Transaction

    payer = bank.faucet  # funded by the node itself
    accounts = [AccountMeta(payer.pubkey(), True, True)] + [
        AccountMeta(Keypair().pubkey(), False, writable[i]) for i in range(n_accounts)
    ]
    memo = Instruction(Pubkey.from_string(PROGRAMS[2]), str(nonce).encode(), [])
    ix = Instruction(Pubkey.from_string(program), data, accounts)
    tx = Transaction(
        [payer], Message([memo, ix], payer.pubkey()), Hash.from_string(bank.blockhash_at(bank.slot))
    )
    raw = b64encode(bytes(tx)).decode()
    cfg = {"encoding": "base64", "skipPreflight": skip}
    sent = call(bank, {"jsonrpc": "2.0", "id": 1, "method": "sendTransaction", "params": [raw, cfg]})
    assert sent.get("error", {}).get("code") != -32603, sent
    sim = call(bank, {"jsonrpc": "2.0", "id": 2, "method": "simulateTransaction", "params": [raw, cfg]})
    assert "result" in sim or sim["error"]["code"] != -32603
    if "result" in sent:
        bank.tick()
        for enc in ("json", "jsonParsed", "base64"):
            got = call(
                bank,
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "getTransaction",
                    "params": [sent["result"], {"encoding": enc, "commitment": "confirmed"}],
                },
            )
            assert "error" not in got, got
            orjson.dumps(got)
