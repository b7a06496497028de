"""Signed heartbeats: the payload, its canonical bytes, signing (the agent) and checking (the server).

A heartbeat is ``{payload, signature}``; ``payload`` is ``{node, seq, ts, gpu_model, gpu_units, challenge?}`` and
``signature`` the base58 ed25519 signature by the node key over ``b"iog-heartbeat/1\\n"`` + the canonical JSON of
the payload (sorted keys, no spaces, UTF-8). Field values are restricted (integers, base58, a GPU model of
``[A-Za-z0-9 ._-]``, hex) so the canonical bytes of a parsed payload are exactly what the agent signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from backend.money import I64_MAX

DOMAIN = b"iog-heartbeat/1\n"
MAX_GPU_UNITS = 65_535
_MODEL = re.compile(r"[A-Za-z0-9 ._-]{1,32}")
_HEX = re.compile(r"[0-9a-f]*")
_KEYS = frozenset({"node", "seq", "ts", "gpu_model", "gpu_units"})
_CHALLENGE_KEYS = frozenset({"id", "solution"})

#: Rejection reasons, as the API names them.
REASONS = (
    "malformed",
    "bad_signature",
    "unknown_node",
    "inactive_node",
    "clock_skew",
    "gpu_mismatch",
    "replayed_seq",
    "rate_limited",
)


@dataclass(frozen=True)
class Answer:
    """A challenge answer carried by a heartbeat."""

    id: str
    solution: str


@dataclass(frozen=True)
class Heartbeat:
    """A well-formed, correctly signed heartbeat."""

    node: str
    seq: int
    ts: int
    gpu_model: str
    gpu_units: int
    answer: Answer | None


class Rejected(Exception):
    """A heartbeat that is not accepted; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical(payload: dict[str, Any]) -> bytes:
    """The canonical JSON of a payload: sorted keys, no spaces, UTF-8."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def message(payload: dict[str, Any]) -> bytes:
    """The bytes the node key signs."""
    return DOMAIN + canonical(payload)


def sign(keypair: Keypair, payload: dict[str, Any]) -> dict[str, Any]:
    """A heartbeat item ``{payload, signature}`` signed by the node key (the agent's side)."""
    return {"payload": payload, "signature": str(keypair.sign_message(message(payload)))}


def _int(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Rejected("malformed")
    return value


def _answer(raw: Any) -> Answer:
    if not isinstance(raw, dict) or raw.keys() != _CHALLENGE_KEYS:
        raise Rejected("malformed")
    cid, solution = raw["id"], raw["solution"]
    if type(cid) is not str or type(solution) is not str or not 1 <= len(cid) <= 32 or len(solution) > 64:
        raise Rejected("malformed")
    if not _HEX.fullmatch(cid) or not _HEX.fullmatch(solution) or len(solution) % 2:
        raise Rejected("malformed")
    return Answer(cid, solution)


def parse(item: Any) -> Heartbeat:
    """Check an item's shape and signature.

    Raises:
        Rejected: ``malformed`` (shape, types, ranges) or ``bad_signature``.
    """
    if not isinstance(item, dict) or item.keys() != {"payload", "signature"}:
        raise Rejected("malformed")
    payload, sig = item["payload"], item["signature"]
    if not isinstance(payload, dict) or type(sig) is not str or len(sig) > 90:
        raise Rejected("malformed")
    keys = payload.keys()
    if keys != _KEYS and keys != _KEYS | {"challenge"}:
        raise Rejected("malformed")
    node, model = payload["node"], payload["gpu_model"]
    if type(node) is not str or len(node) > 44 or type(model) is not str or not _MODEL.fullmatch(model):
        raise Rejected("malformed")
    seq = _int(payload["seq"], 0, I64_MAX)
    ts = _int(payload["ts"], 0, I64_MAX)
    units = _int(payload["gpu_units"], 1, MAX_GPU_UNITS)
    answer = _answer(payload["challenge"]) if "challenge" in payload else None
    try:
        key = Pubkey.from_string(node)
        signature = Signature.from_string(sig)
    except ValueError:
        raise Rejected("malformed") from None
    if str(key) != node:
        raise Rejected("malformed")
    if not signature.verify(key, message(payload)):
        raise Rejected("bad_signature")
    return Heartbeat(node, seq, ts, model, units, answer)
