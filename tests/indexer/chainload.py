"""Puts load on a cluster over plain JSON-RPC: IO payments to the treasury with Solana Pay references.

Used by the fault test and the indexer benchmark. Transactions are built with solders + solana-py's SPL
instruction builders and sent in JSON-RPC batches (skipPreflight) for speed; failures are kept on chain.
"""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from spl.memo.instructions import MemoParams, create_memo
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import TransferCheckedParams, transfer_checked

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


@dataclass
class Payer:
    """A wallet with an IO token account."""

    keypair: Keypair
    io_account: Pubkey


@dataclass
class SentLog:
    """What was sent: signature -> (amount, references, expected_to_fail)."""

    sent: dict[str, tuple[int, list[str], bool]] = field(default_factory=dict)


def payers_from_boot(boot: dict[str, Any]) -> list[Payer]:
    """The bootstrap file's demo wallets."""
    out = []
    for w in boot["wallets"]:
        kp = Keypair.from_bytes(bytes(json.loads(Path(w["keypair_path"]).read_text())))
        out.append(Payer(kp, Pubkey.from_string(w["io_account"])))
    return out


def payment_tx(
    payer: Payer,
    treasury: Pubkey,
    mint: Pubkey,
    decimals: int,
    amount: int,
    refs: list[Pubkey],
    memo: str,
    blockhash: Hash,
) -> Transaction:
    """IO transferChecked payer -> treasury naming ``refs`` as read-only keys, plus a memo."""
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=payer.io_account,
            mint=mint,
            dest=treasury,
            owner=payer.keypair.pubkey(),
            amount=amount,
            decimals=decimals,
        )
    )
    accounts = list(ix.accounts) + [AccountMeta(r, is_signer=False, is_writable=False) for r in refs]
    ix = Instruction(ix.program_id, ix.data, accounts)
    memo_ix = create_memo(MemoParams(program_id=MEMO_PROGRAM, signer=payer.keypair.pubkey(), message=memo.encode()))
    msg = Message.new_with_blockhash([memo_ix, ix], payer.keypair.pubkey(), blockhash)
    return Transaction([payer.keypair], msg, blockhash)


class Loader:
    """Sends payments through JSON-RPC batches."""

    def __init__(self, rpc_url: str, boot: dict[str, Any], seed: int = 7) -> None:
        self.http = httpx.Client(timeout=60)
        self.url = rpc_url
        self.boot = boot
        self.payers = payers_from_boot(boot)
        self.treasury = Pubkey.from_string(boot["treasury"])
        self.mint = Pubkey.from_string(boot["mint"])
        self.decimals = int(boot.get("decimals", 8))
        self.rng = random.Random(seed)
        self.log = SentLog()
        self._n = 0

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One plain call (raises on a JSON-RPC error)."""
        r = self.http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
        if "error" in r:
            raise RuntimeError(f"{method}: {r['error']}")
        return r["result"]

    def send_batch(self, n: int, *, fail_every: int = 0) -> list[str]:
        """Send ``n`` payments in one JSON-RPC batch; every ``fail_every``-th one overdraws and fails."""
        bh = Hash.from_string(self.rpc("getLatestBlockhash", [{"commitment": "confirmed"}])["value"]["blockhash"])
        calls, sigs = [], []
        for _ in range(n):
            self._n += 1
            payer = self.payers[self._n % len(self.payers)]
            fail = bool(fail_every) and self._n % fail_every == 0
            amount = 10**15 if fail else self.rng.randint(1, 10**6)
            refs = [Keypair().pubkey() for _ in range(self.rng.choice([1, 2]))]
            tx = payment_tx(payer, self.treasury, self.mint, self.decimals, amount, refs, f"inv-{self._n}", bh)
            sig = str(tx.signatures[0])
            sigs.append(sig)
            self.log.sent[sig] = (amount, [str(r) for r in refs], fail)
            calls.append(
                {
                    "jsonrpc": "2.0",
                    "id": len(calls),
                    "method": "sendTransaction",
                    "params": [
                        base64.b64encode(bytes(tx)).decode(),
                        {"encoding": "base64", "skipPreflight": True},
                    ],
                }
            )
        res = self.http.post(self.url, json=calls).json()
        errors = [r for r in res if "error" in r]
        if errors:
            raise RuntimeError(f"sendTransaction errors: {errors[:2]}")
        return sigs

    def send(self, total: int, batch: int = 100, *, fail_every: int = 0, pause: float = 0.0) -> list[str]:
        """Send ``total`` payments in batches."""
        out: list[str] = []
        while len(out) < total:
            out += self.send_batch(min(batch, total - len(out)), fail_every=fail_every)
            if pause:
                time.sleep(pause)
        return out

    def wait_finalized(self, sigs: list[str], timeout: float = 120) -> None:
        """Block until every signature is finalized."""
        deadline = time.monotonic() + timeout
        todo = list(sigs)
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(todo)} transactions not finalized")
            st = self.rpc("getSignatureStatuses", [todo[:256], {"searchTransactionHistory": True}])["value"]
            done = {s for s, v in zip(todo[:256], st, strict=True) if v and v.get("confirmationStatus") == "finalized"}
            todo = [s for s in todo if s not in done]
            if todo:
                time.sleep(0.1)

    def chain_signatures(self, address: str) -> list[dict[str, Any]]:
        """Every finalized signature of ``address`` straight from the node (newest first)."""
        out: list[dict[str, Any]] = []
        before = None
        while True:
            opts: dict[str, Any] = {"limit": 1000, "commitment": "finalized"}
            if before:
                opts["before"] = before
            page = self.rpc("getSignaturesForAddress", [address, opts])
            out += page
            if len(page) < 1000:
                return out
            before = page[-1]["signature"]

    def token_balance(self, account: str) -> int:
        """Finalized token balance in base units."""
        return int(self.rpc("getTokenAccountBalance", [account, {"commitment": "finalized"}])["value"]["amount"])


MAX_UNBONDING_ENTRIES = 8


class StakeLoader:
    """Stake traffic on the staking program: each demo wallet operates one node and stakes/unstakes on it."""

    def __init__(self, loader: Loader) -> None:
        from backend.chain.staking import StakingClient

        self.ld = loader
        st = loader.boot["staking"]
        self.client = StakingClient(Pubkey.from_string(st["program_id"]))
        self.stake_vault = Pubkey.from_string(st["stake_vault"])
        self.nodes: dict[str, Pubkey] = {}  # operator pubkey -> node account
        self.staked: dict[str, int] = {}
        self.unstaked: dict[str, int] = {}
        self.requests: dict[str, int] = {}  # unstake requests per owner: the program keeps 8 unbonding entries

    def _send(self, txs: list[Transaction]) -> list[str]:
        calls = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "sendTransaction",
                "params": [
                    base64.b64encode(bytes(tx)).decode(),
                    {"encoding": "base64", "skipPreflight": True},
                ],
            }
            for i, tx in enumerate(txs)
        ]
        res = self.ld.http.post(self.ld.url, json=calls).json()
        if any("error" in r for r in res):
            raise RuntimeError(f"sendTransaction errors: {[r for r in res if 'error' in r][:2]}")
        return [str(tx.signatures[0]) for tx in txs]

    def _bh(self) -> Hash:
        return Hash.from_string(self.ld.rpc("getLatestBlockhash", [{"commitment": "confirmed"}])["value"]["blockhash"])

    def register_nodes(self) -> list[str]:
        """One node per demo wallet (operator = the wallet)."""
        bh, txs = self._bh(), []
        for p in self.ld.payers:
            node_key = Keypair()
            ix = self.client.register_node(p.keypair.pubkey(), node_key.pubkey(), 8, 500)
            msg = Message.new_with_blockhash([ix], p.keypair.pubkey(), bh)
            txs.append(Transaction([p.keypair, node_key], msg, bh))
            self.nodes[str(p.keypair.pubkey())] = self.client.node(node_key.pubkey())
        return self._send(txs)

    def send_batch(self, n: int) -> list[str]:
        """``n`` stake transactions (every 4th one a request_unstake of part of it) across the wallets."""
        bh, txs = self._bh(), []
        for _ in range(n):
            self.ld._n += 1
            p = self.ld.payers[self.ld._n % len(self.ld.payers)]
            owner = str(p.keypair.pubkey())
            node = self.nodes[owner]
            if (
                self.ld._n % 4 == 0
                and self.staked.get(owner, 0) - self.unstaked.get(owner, 0) > 10
                and self.requests.get(owner, 0) < MAX_UNBONDING_ENTRIES  # none matures within a test's time
            ):
                amount = self.ld.rng.randint(1, 10)
                ix = self.client.request_unstake(p.keypair.pubkey(), node, amount)
                self.unstaked[owner] = self.unstaked.get(owner, 0) + amount
                self.requests[owner] = self.requests.get(owner, 0) + 1
            else:
                amount = self.ld.rng.randint(1_000, 100_000)
                ix = self.client.stake(p.keypair.pubkey(), node, p.io_account, self.stake_vault, amount)
                self.staked[owner] = self.staked.get(owner, 0) + amount
            msg = Message.new_with_blockhash([ix], p.keypair.pubkey(), bh)
            txs.append(Transaction([p.keypair], msg, bh))
        return self._send(txs)
