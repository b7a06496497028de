"""Client-side helpers of the conformance suite: build and send IO payments the way a wallet does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed, Finalized
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import MemoParams, create_memo
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import TransferCheckedParams, transfer_checked


def keypair(path: str) -> Keypair:
    """A Solana CLI keypair file."""
    return Keypair.from_bytes(bytes(json.loads(Path(path).read_text())))


def payment_tx(
    boot: dict[str, Any],
    payer: Keypair,
    source: str,
    dest: str,
    amount: int,
    memo: str,
    reference: Pubkey,
    blockhash: Hash,
) -> Transaction:
    """IO transfer_checked naming a read-only reference key, plus a memo (Solana Pay style)."""
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=Pubkey.from_string(source),
            mint=Pubkey.from_string(boot["mint"]),
            dest=Pubkey.from_string(dest),
            owner=payer.pubkey(),
            amount=amount,
            decimals=boot["decimals"],
        )
    )
    ix = Instruction(ix.program_id, ix.data, list(ix.accounts) + [AccountMeta(reference, False, False)])
    memo_ix = create_memo(
        MemoParams(program_id=MEMO_PROGRAM_ID, signer=payer.pubkey(), message=memo.encode())
    )
    return Transaction([payer], Message([ix, memo_ix], payer.pubkey()), blockhash)


async def wait_status(
    client: AsyncClient,
    sig: Signature,
    level: str,
    timeout: float = 60.0,
    step: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """Poll getSignatureStatuses until ``sig`` reaches ``level`` (confirmed or finalized).

    ``step`` (a stepped node's ``step``) moves the clock between polls instead of sleeping.
    """
    order = ["processed", "confirmed", "finalized"]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        st = (await client.get_signature_statuses([sig])).value[0]
        if st is not None and st.confirmation_status is not None:
            name = str(st.confirmation_status).rsplit(".", 1)[-1].lower()
            if order.index(name) >= order.index(level):
                return st
        await (step() if step is not None else asyncio.sleep(0.02))
    raise AssertionError(f"{sig} did not reach {level}")


async def funded(
    c: AsyncClient, lamports: int = 10**9, step: Callable[[], Awaitable[None]] | None = None
) -> Keypair:
    """A new keypair holding ``lamports`` from an airdrop, confirmed."""
    kp = Keypair()
    sig = (await c.request_airdrop(kp.pubkey(), lamports, Confirmed)).value
    await wait_status(c, sig, "confirmed", step=step)
    return kp


def pay(kp: Keypair, to: Pubkey, lamports: int, bh: Hash) -> Transaction:
    """A system transfer of ``lamports`` from ``kp`` to ``to``."""
    ix = transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=lamports))
    return Transaction([kp], Message([ix], kp.pubkey()), bh)


async def send_payment(
    client: AsyncClient,
    boot: dict[str, Any],
    amount: int,
    memo: str,
    reference: Pubkey,
    sender: int = 0,
    receiver: str | None = None,
    commitment: Commitment = Confirmed,
) -> Signature:
    """Pay ``amount`` IO from wallet ``sender`` to the treasury (or ``receiver``); wait for ``commitment``."""
    w = boot["wallets"][sender]
    payer = keypair(w["keypair_path"])
    bh = (await client.get_latest_blockhash(Confirmed)).value.blockhash
    tx = payment_tx(boot, payer, w["io_account"], receiver or boot["treasury"], amount, memo, reference, bh)
    sig = (await client.send_transaction(tx, opts=TxOpts(preflight_commitment=Confirmed))).value
    await wait_status(client, sig, "finalized" if commitment == Finalized else "confirmed")
    return sig


def raw_rpc(url: str, method: str, params: list[Any] | None = None) -> dict[str, Any]:
    """One JSON-RPC call over plain HTTP; returns the whole response object."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    return httpx.post(url, json=body, timeout=30).json()


def raw_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Several JSON-RPC calls in one batch; returns each answer without its id, in call order."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    out = sorted(httpx.post(url, json=body, timeout=60).json(), key=lambda r: r["id"])
    return [{k: v for k, v in r.items() if k != "id"} for r in out]


def typed(url: str, resp_type: Any, method: str, params: list[Any] | None = None) -> Any:
    """One call parsed by solders' response type (what solana-py uses): a shape it rejects fails the test."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    text = httpx.post(url, json=body, timeout=30).text
    parsed = resp_type.from_json(text)
    assert isinstance(parsed, resp_type), (method, params, text[:500])
    return parsed.value
