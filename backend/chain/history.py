"""Read-only chain facts from plain JSON-RPC: a token account's balance as of a finalized slot, signatures naming
an address, the token supply. Used by the ledger check (which must compare with the chain, not with our own copy
of it) and by /supply. Every call states its commitment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from backend.chain.tx import RpcUnavailable

FINALIZED = "finalized"


class ChainBehind(RpcUnavailable):
    """The RPC's finalized view is older than the slot asked about, or too much happened since to replay."""


@dataclass(frozen=True)
class BalanceAt:
    """A token account's balance at ``slot`` (``replayed`` transactions after it were subtracted)."""

    amount: int
    slot: int
    replayed: int


class JsonRpc:
    """A minimal JSON-RPC client (one HTTP connection pool)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> JsonRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: list[Any]) -> Any:
        """The ``result`` of one call; ``RpcUnavailable`` for transport errors, bad JSON and JSON-RPC errors."""
        try:
            resp = self.http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RpcUnavailable(f"{method} at {self.url}: {exc}") from exc
        if not isinstance(body, dict) or "result" not in body:
            raise RpcUnavailable(f"{method} at {self.url}: {str(body)[:300]}")
        return body["result"]

    def token_balance(self, account: str) -> tuple[int, int]:
        """(amount, context slot) of a token account at finalized."""
        r = self.call("getTokenAccountBalance", [account, {"commitment": FINALIZED}])
        return int(r["value"]["amount"]), int(r["context"]["slot"])

    def token_supply(self, mint: str) -> tuple[int, int, int]:
        """(supply, decimals, context slot) of a mint at finalized."""
        r = self.call("getTokenSupply", [mint, {"commitment": FINALIZED}])
        return int(r["value"]["amount"]), int(r["value"]["decimals"]), int(r["context"]["slot"])

    def signatures(self, address: str, *, limit: int = 1000, before: str | None = None) -> list[dict[str, Any]]:
        """Signatures naming ``address``, newest first, at finalized."""
        cfg: dict[str, Any] = {"commitment": FINALIZED, "limit": limit}
        if before:
            cfg["before"] = before
        return list(self.call("getSignaturesForAddress", [address, cfg]))

    def transaction(self, signature: str) -> dict[str, Any] | None:
        """A finalized transaction (``json`` encoding, versioned included)."""
        return self.call(  # type: ignore[no-any-return]
            "getTransaction",
            [signature, {"encoding": "json", "commitment": FINALIZED, "maxSupportedTransactionVersion": 0}],
        )


def token_delta(tx: dict[str, Any], account: str) -> int:
    """How much a transaction changed ``account``'s token balance (post - pre; 0 for a failed one)."""
    msg = tx["transaction"]["message"]
    meta = tx.get("meta") or {}
    keys = list(msg["accountKeys"])
    loaded = meta.get("loadedAddresses") or {}
    keys += list(loaded.get("writable") or []) + list(loaded.get("readonly") or [])
    if account not in keys:
        return 0
    idx = keys.index(account)

    def amount(balances: list[dict[str, Any]] | None) -> int:
        for b in balances or []:
            if b.get("accountIndex") == idx:
                return int(b["uiTokenAmount"]["amount"])
        return 0

    return amount(meta.get("postTokenBalances")) - amount(meta.get("preTokenBalances"))


def balance_at(rpc: JsonRpc, account: str, slot: int, max_replay: int = 1000) -> BalanceAt:
    """``account``'s token balance at finalized ``slot``: the current finalized balance minus what every finalized
    transaction after ``slot`` changed (read from the chain, pre/post token balances of each)."""
    amount, head = rpc.token_balance(account)
    if head < slot:
        raise ChainBehind(f"the RPC's finalized slot {head} is older than slot {slot}")
    after: list[str] = []
    before: str | None = None
    while True:
        page = rpc.signatures(account, before=before)
        for e in page:
            if slot < int(e["slot"]) <= head:
                after.append(e["signature"])
        if not page or int(page[-1]["slot"]) <= slot or len(page) < 1000:
            break
        if len(after) > max_replay:
            raise ChainBehind(f"more than {max_replay} transactions after slot {slot}: too far behind to compare")
        before = page[-1]["signature"]
    for sig in after:
        tx = rpc.transaction(sig)
        if tx is None:
            raise RpcUnavailable(f"getTransaction {sig} returned null for a listed finalized signature")
        amount -= token_delta(tx, account)
    return BalanceAt(amount, slot, len(after))
