"""What the node's ledger keeps for every landed transaction, and its rendering to RPC JSON."""

from __future__ import annotations

from base64 import b64encode
from dataclasses import dataclass, field
from typing import Any

import orjson
from solders.transaction import VersionedTransaction

from localnet.b58 import b58decode, b58encode
from localnet.constants import MEMO_PROGRAMS
from localnet.parsers import parse_instruction


@dataclass(slots=True)
class TxRecord:
    """One landed transaction: the raw transaction plus everything its meta needs."""

    seq: int
    signature: str
    slot: int
    block_time: int
    raw: bytes
    keys: list[str]
    writable: list[bool]
    num_signers: int
    fee: int
    err: Any
    pre_balances: list[int]
    post_balances: list[int]
    pre_token: list[dict[str, Any]] | None  # None until Bank.resolve_tokens ran (computed lazily)
    post_token: list[dict[str, Any]] | None
    logs: list[str]
    inner: list[dict[str, Any]]
    units: int
    return_data: dict[str, Any] | None
    memo: str | None
    cache: dict[str, bytes] = field(default_factory=dict)
    #: (pre, post) lists of (account index, token program, raw account data) until tokens are resolved
    tok_raw: Any = None
    #: [writable, readonly] addresses loaded from lookup tables (v0); they follow the static keys in ``keys``
    loaded: list[list[str]] | None = None

    def to_store(self) -> bytes:
        """Serialise for the ledger file (everything but the cache)."""
        d = {k: getattr(self, k) for k in STORE_FIELDS}
        d["raw"] = b64encode(self.raw).decode()
        return orjson.dumps(d)

    @classmethod
    def from_store(cls, blob: bytes) -> TxRecord:
        """Inverse of :meth:`to_store`."""
        from base64 import b64decode

        d = orjson.loads(blob)
        d["raw"] = b64decode(d["raw"])
        return cls(**d)

    def status_json(self) -> dict[str, Any]:
        """``{"Ok": null}`` or ``{"Err": ...}``."""
        return {"Ok": None} if self.err is None else {"Err": self.err}


STORE_FIELDS = [f for f in TxRecord.__dataclass_fields__ if f not in ("cache", "tok_raw")]


def memo_summary(keys: list[str], instructions: list[tuple[int, list[int], bytes]]) -> str | None:
    """getSignaturesForAddress's ``memo``: ``[len] text`` per memo instruction, joined by ``; ``."""
    memos = []
    for pidx, _accts, data in instructions:
        if keys[pidx] in MEMO_PROGRAMS:
            text = data.decode("utf-8", "replace")
            memos.append(f"[{len(data)}] {text}")
    return "; ".join(memos) if memos else None


def _header(msg: Any) -> dict[str, int]:
    h = msg.header
    return {
        "numRequiredSignatures": h.num_required_signatures,
        "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
        "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
    }


def _ix_json(ix: Any, keys: list[str], parsed: bool, stack_height: int | None) -> dict[str, Any]:
    accts = list(ix.accounts)
    data = bytes(ix.data)
    if parsed:
        pid = keys[ix.program_id_index]
        p = parse_instruction(pid, data, [keys[i] for i in accts])
        if p is not None:
            p["stackHeight"] = stack_height
            return p
        return {
            "accounts": [keys[i] for i in accts],
            "data": b58encode(data),
            "programId": pid,
            "stackHeight": stack_height,
        }
    return {
        "programIdIndex": ix.program_id_index,
        "accounts": accts,
        "data": b58encode(data),
        "stackHeight": stack_height,
    }


def render_transaction(rec: TxRecord, encoding: str, max_version: int | None) -> dict[str, Any]:
    """getTransaction's result for ``encoding`` json, jsonParsed, base64 or base58."""
    tx = VersionedTransaction.from_bytes(rec.raw)
    msg: Any = tx.message
    is_v0 = hasattr(msg, "address_table_lookups")
    keys = rec.keys
    n_static = len(msg.account_keys)
    if encoding in ("base64", "base58"):
        transaction: Any = (
            [b64encode(rec.raw).decode(), "base64"]
            if encoding == "base64"
            else [b58encode(rec.raw), "base58"]
        )
    else:
        parsed = encoding == "jsonParsed"
        message: dict[str, Any] = {}
        if parsed:
            message["accountKeys"] = [
                {
                    "pubkey": k,
                    "writable": rec.writable[i],
                    "signer": i < rec.num_signers,
                    "source": "transaction" if i < n_static else "lookupTable",
                }
                for i, k in enumerate(keys)
            ]
        else:
            message["accountKeys"] = keys[:n_static]
            message["header"] = _header(msg)
        message["recentBlockhash"] = str(msg.recent_blockhash)
        message["instructions"] = [_ix_json(ix, keys, parsed, None) for ix in msg.instructions]
        if is_v0:
            message["addressTableLookups"] = [
                {
                    "accountKey": str(lu.account_key),
                    "writableIndexes": list(lu.writable_indexes),
                    "readonlyIndexes": list(lu.readonly_indexes),
                }
                for lu in msg.address_table_lookups
            ]
        transaction = {"signatures": [str(s) for s in tx.signatures], "message": message}
    inner = rec.inner
    if encoding == "jsonParsed":
        inner = [
            {
                "index": group["index"],
                "instructions": [
                    _ix_json(
                        _Ix(i["programIdIndex"], i["accounts"], b58decode(i["data"])),
                        keys,
                        True,
                        i["stackHeight"],
                    )
                    for i in group["instructions"]
                ],
            }
            for group in rec.inner
        ]
    meta: dict[str, Any] = {
        "err": rec.err,
        "status": rec.status_json(),
        "fee": rec.fee,
        "preBalances": rec.pre_balances,
        "postBalances": rec.post_balances,
        "innerInstructions": inner,
        "logMessages": rec.logs,
        "preTokenBalances": rec.pre_token,
        "postTokenBalances": rec.post_token,
        "rewards": [],
        "computeUnitsConsumed": rec.units,
    }
    if encoding != "jsonParsed":
        w, r = rec.loaded or ([], [])
        meta["loadedAddresses"] = {"writable": w, "readonly": r}
    if rec.return_data is not None:
        meta["returnData"] = rec.return_data
    out: dict[str, Any] = {
        "slot": rec.slot,
        "blockTime": rec.block_time,
        "transaction": transaction,
        "meta": meta,
    }
    if max_version is not None:
        out["version"] = 0 if is_v0 else "legacy"
    return out


def is_v0(raw: bytes) -> bool:
    """Whether a serialised transaction carries a versioned (v0) message."""
    n = raw[0]  # shortvec signature count: < 128 signatures always fits one byte
    return bool(raw[1 + 64 * n] & 0x80)


def render_accounts_entry(rec: TxRecord, max_version: int | None, rewards: bool) -> dict[str, Any]:
    """getBlock's ``transactionDetails: "accounts"`` form: signatures, account keys and the balance meta."""
    n_static = len(rec.keys) - sum(len(g) for g in rec.loaded or ())
    tx = VersionedTransaction.from_bytes(rec.raw)
    meta: dict[str, Any] = {
        "err": rec.err,
        "status": rec.status_json(),
        "fee": rec.fee,
        "preBalances": rec.pre_balances,
        "postBalances": rec.post_balances,
        "preTokenBalances": rec.pre_token,
        "postTokenBalances": rec.post_token,
    }
    if rewards:
        meta["rewards"] = []
    out: dict[str, Any] = {
        "transaction": {
            "signatures": [str(s) for s in tx.signatures],
            "accountKeys": [
                {
                    "pubkey": k,
                    "writable": rec.writable[i],
                    "signer": i < rec.num_signers,
                    "source": "transaction" if i < n_static else "lookupTable",
                }
                for i, k in enumerate(rec.keys)
            ],
        },
        "meta": meta,
    }
    if max_version is not None:
        out["version"] = 0 if is_v0(rec.raw) else "legacy"
    return out


class _Ix:
    __slots__ = ("program_id_index", "accounts", "data")

    def __init__(self, pidx: int, accounts: list[int], data: bytes) -> None:
        self.program_id_index = pidx
        self.accounts = accounts
        self.data = data
