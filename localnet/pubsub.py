"""Solana PubSub over websocket: logs, signature, account, program and slot subscriptions.

Events of a transaction reach ``processed`` subscribers when it lands, ``confirmed`` ones one slot later and
``finalized`` ones ``finality_slots`` later, as the bank's ticker advances.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from localnet import params as P
from localnet.bank import COMMITMENTS, Bank
from localnet.errors import INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, RpcError, invalid_params
from localnet.records import TxRecord
from localnet.rpc_accounts import _filters, _matches, render

log = logging.getLogger(__name__)

KINDS = {
    "logsSubscribe": "logs",
    "signatureSubscribe": "signature",
    "accountSubscribe": "account",
    "programSubscribe": "program",
    "slotSubscribe": "slot",
}
UNSUBSCRIBE = {k.replace("Subscribe", "Unsubscribe"): v for k, v in KINDS.items()}
NOTIFICATION = {k: f"{k}Notification" for k in KINDS.values()}


@dataclass(eq=False)
class Conn:
    """One websocket client and its outgoing queue (sends happen in order on one writer task)."""

    ws: ServerConnection
    queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    subs: set[int] = field(default_factory=set)


@dataclass(eq=False)
class Sub:
    """One subscription."""

    id: int
    kind: str
    conn: Conn
    commitment: str
    key: str | None
    encoding: str = "base64"
    filters: list[Any] = field(default_factory=list)


class PubSub:
    """The subscription registry, fed by the bank (transactions) and the ticker (slots)."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.ids = itertools.count(1)
        self.subs: dict[int, Sub] = {}
        # (kind, commitment) -> key -> {id: Sub}; key None = every transaction (logs "all")
        self.index: dict[tuple[str, str], dict[str | None, dict[int, Sub]]] = {}
        self.pending: dict[int, list[tuple[TxRecord, list[str]]]] = {}
        #: set by the node: holds each outgoing message until what it shows is committed to the ledger
        self.release: Callable[[Callable[[], None]], None] | None = None
        bank.listeners.append(self.on_transaction)

    # --- registry -----------------------------------------------------------------------------------------

    def _add(self, sub: Sub) -> None:
        self.subs[sub.id] = sub
        sub.conn.subs.add(sub.id)
        self.index.setdefault((sub.kind, sub.commitment), {}).setdefault(sub.key, {})[sub.id] = sub

    def _remove(self, sub_id: int) -> Sub | None:
        sub = self.subs.pop(sub_id, None)
        if sub is None:
            return None
        sub.conn.subs.discard(sub_id)
        by_key = self.index.get((sub.kind, sub.commitment), {})
        group = by_key.get(sub.key)
        if group is not None:
            group.pop(sub_id, None)
            if not group:
                del by_key[sub.key]
        return sub

    def _notify(self, sub: Sub, result: Any) -> None:
        msg = {
            "jsonrpc": "2.0",
            "method": NOTIFICATION[sub.kind],
            "params": {"result": result, "subscription": sub.id},
        }
        self._send(sub.conn, msg)

    def _group(self, kind: str, commitment: str, key: str | None) -> list[Sub]:
        g = self.index.get((kind, commitment))
        if not g:
            return []
        subs = g.get(key)
        return list(subs.values()) if subs else []

    # --- events ---------------------------------------------------------------------------------------------

    def on_transaction(self, rec: TxRecord, changed: list[str]) -> None:
        """Bank listener: deliver at processed now, queue the rest for later slots."""
        self.pending.setdefault(rec.slot, []).append((rec, changed))
        self._deliver(rec, changed, "processed")

    def on_slot(self, slot: int) -> None:
        """Ticker: a new slot began; deliver what just became confirmed / finalized."""
        root = self.bank.commitment_slot("finalized")
        for sub in self._group("slot", "processed", None):
            self._notify(sub, {"parent": max(0, slot - 1), "root": root, "slot": slot})
        for rec, changed in self.pending.get(slot - 1, []):
            self._deliver(rec, changed, "confirmed")
        fin = slot - self.bank.finality_slots
        for rec, changed in self.pending.pop(fin, []):
            self._deliver(rec, changed, "finalized")
        for old in [s for s in self.pending if s < fin]:
            del self.pending[old]

    def _deliver(self, rec: TxRecord, changed: list[str], level: str) -> None:
        if not self.index:
            return
        ctx = {"slot": rec.slot}
        logs = self._group("logs", level, None)
        for k in dict.fromkeys(rec.keys):
            logs += self._group("logs", level, k)
        if logs:
            value: Any = {
                "context": ctx,
                "value": {"signature": rec.signature, "err": rec.err, "logs": rec.logs},
            }
            for sub in logs:
                self._notify(sub, value)
        for sub in self._group("signature", level, rec.signature):
            self._notify(sub, {"context": ctx, "value": {"err": rec.err}})
            self._remove(sub.id)
        for k in changed:
            acc_subs = self._group("account", level, k)
            owner = self.bank.owner_of.get(k)
            prog_subs = self._group("program", level, owner) if owner else []
            if not acc_subs and not prog_subs:
                continue
            acc = self.bank.get_account(k, level)
            for sub in acc_subs:
                value = (
                    render(self.bank, acc, sub.encoding, None)
                    if acc is not None
                    else {
                        "lamports": 0,
                        "data": ["", "base64"],
                        "owner": "11111111111111111111111111111111",
                        "executable": False,
                        "rentEpoch": 0,
                        "space": 0,
                    }
                )
                self._notify(sub, {"context": ctx, "value": value})
            if acc is None:
                continue
            for sub in prog_subs:
                if _matches(bytes(acc.data), sub.filters):
                    self._notify(
                        sub,
                        {
                            "context": ctx,
                            "value": {"pubkey": k, "account": render(self.bank, acc, sub.encoding, None)},
                        },
                    )

    # --- requests -------------------------------------------------------------------------------------------

    def _subscribe(self, conn: Conn, method: str, params: list[Any]) -> tuple[int, Sub | None]:
        kind = KINDS[method]
        sub_id = next(self.ids)
        if kind == "slot":
            sub = Sub(sub_id, kind, conn, "processed", None)
        elif kind == "logs":
            flt = P.arg(params, 0, "filter")
            cfg = P.config(params, 1)
            if flt in ("all", "allWithVotes"):
                key = None
            elif (
                isinstance(flt, dict) and isinstance(flt.get("mentions"), list) and len(flt["mentions"]) == 1
            ):
                key = P.pubkey_value(flt["mentions"][0], "mentions[0]")
            else:
                raise invalid_params('`filter` must be "all" or {"mentions": [<one pubkey>]}')
            sub = Sub(sub_id, kind, conn, P.commitment(cfg), key)
        elif kind == "signature":
            sig = P.signature(params, 0, "signature")
            sub = Sub(sub_id, kind, conn, P.commitment(P.config(params, 1)), sig)
        elif kind == "account":
            pk = P.pubkey(params, 0, "pubkey")
            cfg = P.config(params, 1)
            sub = Sub(sub_id, kind, conn, P.commitment(cfg), pk, P.account_encoding(cfg, "base58"))
        else:
            pid = P.pubkey(params, 0, "programId")
            cfg = P.config(params, 1)
            sub = Sub(
                sub_id, kind, conn, P.commitment(cfg), pid, P.account_encoding(cfg, "base64"), _filters(cfg)
            )
        if kind == "signature":
            rec = self.bank.by_sig.get(sub.key or "")
            if rec is not None and COMMITMENTS.index(self.bank.status_of(rec)) >= COMMITMENTS.index(
                sub.commitment
            ):
                return sub_id, sub  # already there: answer, notify, and do not register
        self._add(sub)
        return sub_id, None

    def handle(self, conn: Conn, text: str | bytes) -> None:
        """Answer one websocket message."""
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._send(
                conn, {"jsonrpc": "2.0", "error": {"code": PARSE_ERROR, "message": "Parse error"}, "id": None}
            )
            return
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            self._send(
                conn,
                {
                    "jsonrpc": "2.0",
                    "error": {"code": INVALID_REQUEST, "message": "Invalid request"},
                    "id": None,
                },
            )
            return
        id_ = req.get("id") if isinstance(req.get("id"), (int, str)) else None
        method = req["method"]
        params = req.get("params") or []
        try:
            if not isinstance(params, list):
                raise invalid_params("`params` must be an array")
            if method in KINDS:
                sub_id, immediate = self._subscribe(conn, method, params)
                self._send(conn, {"jsonrpc": "2.0", "result": sub_id, "id": id_})
                if immediate is not None:
                    rec = self.bank.by_sig[immediate.key or ""]
                    self._notify(immediate, {"context": {"slot": rec.slot}, "value": {"err": rec.err}})
            elif method in UNSUBSCRIBE:
                sub_id = P.integer(P.arg(params, 0, "subscriptionId"), "subscriptionId")
                sub = self.subs.get(sub_id)
                ok = sub is not None and sub.conn is conn and sub.kind == UNSUBSCRIBE[method]
                if ok:
                    self._remove(sub_id)
                else:
                    raise invalid_params("Invalid subscription id.")
                self._send(conn, {"jsonrpc": "2.0", "result": True, "id": id_})
            else:
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
        except RpcError as e:
            self._send(conn, {"jsonrpc": "2.0", "error": e.to_json(), "id": id_})

    def _send(self, conn: Conn, msg: Any) -> None:
        data = orjson.dumps(msg)
        if self.release is None:
            conn.queue.put_nowait(data)
        else:
            self.release(lambda: conn.queue.put_nowait(data))

    async def serve(self, ws: ServerConnection) -> None:
        """websockets handler: one connection until it closes."""
        conn = Conn(ws)
        writer = asyncio.get_running_loop().create_task(self._writer(conn))
        try:
            async for message in ws:
                self.handle(conn, message)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            for sub_id in list(conn.subs):
                self._remove(sub_id)

    @staticmethod
    async def _writer(conn: Conn) -> None:
        try:
            while True:
                msg = await conn.queue.get()
                await conn.ws.send(msg.decode())
        except (ConnectionClosed, asyncio.CancelledError):
            pass
