"""Pure decoders: one ``getTransaction`` (encoding ``json``) response -> rows for the database.

Nothing here does I/O. Malformed input yields ``None`` (whole transaction) or a raw/flagged record plus a
logged warning; it never raises into the indexing loop.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

import based58

from backend.chain.ids import MEMO_PROGRAMS, TOKEN_PROGRAMS
from indexer.errors import MalformedEvent
from indexer.idl import EventCoder

log = logging.getLogger(__name__)

_TRANSFER = 3
_TRANSFER_CHECKED = 12
# Supply changes of a watched account are recorded too (kind mintTo/burn; the mint stands in for the other
# side), so that a token account's balance always equals its recorded flows (see reconcile).
_MINT_TO, _BURN, _MINT_TO_CHECKED, _BURN_CHECKED = 7, 8, 14, 15
# tag -> (kind, data length, index of source, mint, destination, authority in the accounts; None = n/a)
_LAYOUTS: dict[int, tuple[str, int, int, int | None, int, int]] = {
    _TRANSFER: ("transfer", 9, 0, None, 1, 2),
    _TRANSFER_CHECKED: ("transferChecked", 10, 0, 1, 2, 3),
    _MINT_TO: ("mintTo", 9, 0, 0, 1, 2),
    _MINT_TO_CHECKED: ("mintTo", 10, 0, 0, 1, 2),
    _BURN: ("burn", 9, 0, 1, 1, 2),
    _BURN_CHECKED: ("burn", 10, 0, 1, 1, 2),
}


@dataclass
class DecodeContext:
    """What the decoder needs to know: the watched token accounts, the IO mint, the program and its events."""

    watched: frozenset[str]
    io_mint: str | None = None
    program_id: str | None = None
    events: EventCoder | None = None


@dataclass
class DecodedTx:
    """All rows one transaction contributes."""

    tx: dict[str, Any]
    transfers: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def undecodable(signature: str, tx: dict[str, Any], status: str) -> DecodedTx:
    """The row of a fetched transaction that ``decode_transaction`` could not read: kept with its raw response.

    It carries no transfers or events (nothing is counted from it), but it exists, so the cursor never moves past
    a transaction silently; ``reconcile`` then shows the balance it leaves unexplained.
    """
    slot, block_time = tx.get("slot"), tx.get("blockTime")
    return DecodedTx(
        tx={
            "signature": signature,
            "slot": slot if isinstance(slot, int) and not isinstance(slot, bool) else 0,
            "block_time": block_time if isinstance(block_time, int) and not isinstance(block_time, bool) else None,
            "err": None,
            "failed": False,
            "fee": 0,
            "memo": None,
            "status": status,
            "decode_error": "the getTransaction result could not be decoded (reason in the indexer log)",
            "raw": json.dumps(tx, sort_keys=True, default=str),
        }
    )


def account_keys(tx: dict[str, Any]) -> tuple[list[str], list[bool], list[bool]]:
    """Account keys of a ``json``-encoded transaction (static + loaded) with signer and writable flags."""
    msg = tx["transaction"]["message"]
    keys = list(msg["accountKeys"])
    h = msg["header"]
    n_sig = h["numRequiredSignatures"]
    n_ro_sig = h["numReadonlySignedAccounts"]
    n_ro_unsig = h["numReadonlyUnsignedAccounts"]
    n = len(keys)
    signer = [i < n_sig for i in range(n)]
    writable = [(i < n_sig - n_ro_sig) if i < n_sig else (i < n - n_ro_unsig) for i in range(n)]
    loaded = (tx.get("meta") or {}).get("loadedAddresses") or {}
    for w, group in ((True, loaded.get("writable") or []), (False, loaded.get("readonly") or [])):
        keys.extend(group)
        signer.extend([False] * len(group))
        writable.extend([w] * len(group))
    return keys, signer, writable


def _token_maps(meta: dict[str, Any]) -> tuple[dict[int, str], dict[int, str]]:
    mints: dict[int, str] = {}
    owners: dict[int, str] = {}
    for bal in (meta.get("preTokenBalances") or []) + (meta.get("postTokenBalances") or []):
        idx = bal.get("accountIndex")
        if idx is None:
            continue
        if bal.get("mint"):
            mints.setdefault(idx, bal["mint"])
        if bal.get("owner"):
            owners.setdefault(idx, bal["owner"])
    return mints, owners


def _iter_instructions(tx: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """``(ix_path, top_index, instruction)`` for top-level then inner instructions."""
    out: list[tuple[str, int, dict[str, Any]]] = []
    for i, ix in enumerate(tx["transaction"]["message"]["instructions"]):
        out.append((str(i), i, ix))
    for group in (tx.get("meta") or {}).get("innerInstructions") or []:
        top = group["index"]
        for j, ix in enumerate(group["instructions"]):
            out.append((f"{top}.{j}", top, ix))
    return out


def decode_transaction(signature: str, tx: dict[str, Any] | None, ctx: DecodeContext, status: str) -> DecodedTx | None:
    """Decode one getTransaction result (``json`` encoding); None (and a warning) when unreadable."""
    if tx is None:
        return None
    try:
        return _decode(signature, tx, ctx, status)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
        log.warning("cannot decode transaction %s: %s", signature, exc)
        return None


def _decode(signature: str, tx: dict[str, Any], ctx: DecodeContext, status: str) -> DecodedTx:
    meta = tx.get("meta") or {}
    if tx["transaction"]["signatures"][0] != signature:
        raise ValueError("response is for another signature")
    slot = int(tx["slot"])
    block_time = tx.get("blockTime")
    err = meta.get("err")
    failed = err is not None
    keys, signer, _writable = account_keys(tx)
    instrs = _iter_instructions(tx)

    memos: list[str] = []
    for path, _top, ix in instrs:
        if "." in path:
            continue
        if keys[ix["programIdIndex"]] in MEMO_PROGRAMS:
            try:
                memos.append(based58.b58decode(ix["data"].encode()).decode("utf-8", "replace"))
            except ValueError:
                log.warning("bad memo data in %s", signature)
    memo = "\n".join(memos) if memos else None

    out = DecodedTx(
        tx={
            "signature": signature,
            "slot": slot,
            "block_time": block_time,
            "err": json.dumps(err, sort_keys=True) if failed else None,
            "failed": failed,
            "fee": int(meta.get("fee") or 0),
            "memo": memo,
            "status": status,
        }
    )
    mints: dict[int, str] | None = None
    owners: dict[int, str] = {}
    for path, _top, ix in instrs:
        if keys[ix["programIdIndex"]] not in TOKEN_PROGRAMS:
            continue
        data = based58.b58decode(ix["data"].encode())
        layout = _LAYOUTS.get(data[0]) if data else None
        if layout is None:
            continue
        kind, size, src, mint_pos, dst, auth_pos = layout
        accts: list[int] = ix["accounts"]
        if len(data) != size or len(accts) <= auth_pos:
            log.warning("malformed %s %s/%s", kind, signature, path)
            continue
        src, dst, auth = accts[src], accts[dst], accts[auth_pos]
        mint_idx = accts[mint_pos] if mint_pos is not None else None
        extra = accts[auth_pos + 1 :] if kind.startswith("transfer") else []
        source, destination = keys[src], keys[dst]  # mintTo: source is the mint; burn: destination is
        if source not in ctx.watched and destination not in ctx.watched:
            continue
        if mints is None:
            mints, owners = _token_maps(meta)
        mint = keys[mint_idx] if mint_idx is not None else (mints.get(src) or mints.get(dst))
        (amount,) = struct.unpack_from("<Q", data, 1)
        out.transfers.append(
            {
                "signature": signature,
                "ix_path": path,
                "slot": slot,
                "block_time": block_time,
                "kind": kind,
                "mint": mint,
                "is_io": bool(ctx.io_mint) and mint == ctx.io_mint,
                "amount": amount,
                "amount_raw": str(amount),
                "source": source,
                "destination": destination,
                "source_owner": owners.get(src) or keys[auth],
                "destination_owner": owners.get(dst),
                "authority": keys[auth],
                "memo": memo,
                "failed": failed,
                "status": status,
            }
        )
        # Solana Pay references: extra keys that are not signers (multisig signers are signers).
        seen: set[str] = set()
        for k in extra:
            if not signer[k] and keys[k] not in seen:
                seen.add(keys[k])
                out.references.append({"reference": keys[k], "signature": signature, "ix_path": path})

    if ctx.program_id and ctx.program_id in keys:
        out.events = decode_events(signature, slot, block_time, meta.get("logMessages") or [], ctx, status)
    return out


def decode_events(
    signature: str,
    slot: int,
    block_time: int | None,
    logs: list[str],
    ctx: DecodeContext,
    status: str,
) -> list[dict[str, Any]]:
    """Events of ``ctx.program_id``: ``Program data:`` lines logged while it is on top of the stack."""
    events: list[dict[str, Any]] = []
    stack: list[str] = []
    top = -1
    for line in logs:
        if line.startswith("Program ") and " invoke [" in line:
            pid = line[8:].split(" ", 1)[0]
            if line.endswith(" invoke [1]"):
                top += 1
                stack = []
            stack.append(pid)
            continue
        if line.startswith("Program ") and (line.endswith(" success") or " failed" in line):
            pid = line[8:].split(" ", 1)[0]
            if stack and stack[-1] == pid:
                stack.pop()
            continue
        if not line.startswith("Program data: ") or not stack or stack[-1] != ctx.program_id:
            continue
        raw = line[len("Program data: ") :]
        parts = raw.split(" ")
        rec: dict[str, Any] = {
            "signature": signature,
            "ix_path": str(max(top, 0)),
            "event_index": len(events),
            "slot": slot,
            "block_time": block_time,
            "program_id": ctx.program_id,
            "name": None,
            "subject": None,
            "owner": None,
            "fields": None,
            "raw": raw,
            "error": None,
            "status": status,
        }
        try:
            payload = b"".join(base64.b64decode(p, validate=True) for p in parts)
        except (binascii.Error, ValueError) as exc:
            rec["error"] = f"bad base64: {exc}"
            log.warning("event %s#%d: %s", signature, len(events), rec["error"])
            events.append(rec)
            continue
        if ctx.events is None:
            rec["error"] = "no IDL loaded"
        else:
            try:
                name, fields = ctx.events.decode(payload)
                rec["name"] = name
                rec["fields"] = json.dumps(fields, sort_keys=True)
                subject = fields.get("node") or fields.get("wallet") or fields.get("epoch")
                rec["subject"] = str(subject) if subject is not None else None
                rec["owner"] = fields.get("owner")
            except MalformedEvent as exc:
                rec["name"] = exc.name
                rec["error"] = str(exc)
                log.warning("event %s#%d kept raw: %s", signature, len(events), exc)
        events.append(rec)
    return events
