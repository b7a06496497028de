"""Validation of JSON-RPC params: every failure is -32602 with a message naming the parameter."""

from __future__ import annotations

from base64 import b64decode
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.b58 import b58decode
from localnet.errors import invalid_params

COMMITMENT_ALIASES = {
    "processed": "processed",
    "recent": "processed",
    "confirmed": "confirmed",
    "single": "confirmed",
    "singleGossip": "confirmed",
    "finalized": "finalized",
    "max": "finalized",
    "root": "finalized",
}
MAX_RAW_TX = 1232


def arg(params: list[Any], i: int, name: str, required: bool = True) -> Any:
    """Positional parameter ``i``."""
    if i < len(params):
        return params[i]
    if required:
        raise invalid_params(f"missing parameter #{i + 1} `{name}`")
    return None


def pubkey(params: list[Any], i: int, name: str) -> str:
    """A base58 public key at position ``i``, returned normalised."""
    v = arg(params, i, name)
    if not isinstance(v, str):
        raise invalid_params(f"`{name}` must be a base58 public key string")
    try:
        return str(Pubkey.from_string(v))
    except ValueError:
        raise invalid_params(f"`{name}` is not a valid public key: {v[:64]!r}") from None


def pubkey_value(v: Any, name: str) -> str:
    """A public key given inside a config object or list."""
    return pubkey([v], 0, name)


def config(params: list[Any], i: int, name: str = "config") -> dict[str, Any]:
    """The optional config object at position ``i`` (``{}`` when absent or null)."""
    v = arg(params, i, name, required=False)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise invalid_params(f"`{name}` (parameter #{i + 1}) must be an object")
    return v


def commitment(cfg: dict[str, Any], default: str = "finalized", key: str = "commitment") -> str:
    """The commitment named in ``cfg``, normalised to processed / confirmed / finalized."""
    v = cfg.get(key)
    if v is None:
        return default
    c = COMMITMENT_ALIASES.get(v) if isinstance(v, str) else None
    if c is None:
        raise invalid_params(f"`{key}` must be processed, confirmed or finalized, not {v!r}")
    return c


def integer(v: Any, name: str, lo: int = 0, hi: int = 2**64 - 1) -> int:
    """An integer within [lo, hi]."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise invalid_params(f"`{name}` must be an integer")
    if not lo <= v <= hi:
        raise invalid_params(f"`{name}` must be between {lo} and {hi}")
    return v


def boolean(cfg: dict[str, Any], key: str, default: bool) -> bool:
    """An optional boolean config member."""
    v = cfg.get(key)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise invalid_params(f"`{key}` must be true or false")
    return v


def choice(cfg: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    """An optional string config member from ``allowed``."""
    v = cfg.get(key)
    if v is None:
        return default
    if v not in allowed:
        raise invalid_params(f"`{key}` must be one of {', '.join(allowed)}, not {v!r}")
    return str(v)


def signature(params: list[Any], i: int, name: str) -> str:
    """A base58 transaction signature (64 bytes)."""
    return signature_value(arg(params, i, name), name)


def signature_value(v: Any, name: str) -> str:
    """A signature given as a value."""
    if not isinstance(v, str) or len(v) > 100:
        raise invalid_params(f"`{name}` must be a base58 signature string")
    try:
        raw = b58decode(v)
    except ValueError:
        raise invalid_params(f"`{name}` is not valid base58") from None
    if len(raw) != 64:
        raise invalid_params(f"`{name}` is not a 64-byte signature")
    return v


def data_slice(cfg: dict[str, Any]) -> tuple[int, int] | None:
    """``dataSlice: {offset, length}``."""
    v = cfg.get("dataSlice")
    if v is None:
        return None
    if not isinstance(v, dict):
        raise invalid_params("`dataSlice` must be an object {offset, length}")
    return integer(v.get("offset"), "dataSlice.offset"), integer(v.get("length"), "dataSlice.length")


def account_encoding(cfg: dict[str, Any], default: str = "base64") -> str:
    """Account data encoding; base64+zstd is not offered by this node."""
    return choice(cfg, "encoding", ("base64", "base58", "jsonParsed"), default)


def transaction(params: list[Any], cfg: dict[str, Any]) -> VersionedTransaction:
    """Decode the wire transaction at position 0 (base58 by default, or base64)."""
    v = arg(params, 0, "transaction")
    if not isinstance(v, str):
        raise invalid_params("`transaction` must be an encoded transaction string")
    enc = choice(cfg, "encoding", ("base58", "base64"), "base58")
    limit = 1683 if enc == "base58" else 1644
    if len(v) > limit:
        raise invalid_params(
            f"{enc} encoded transaction too large: {len(v)} bytes (max: encoded/raw {limit}/1232)"
        )
    try:
        raw = b58decode(v) if enc == "base58" else b64decode(v, validate=True)
    except ValueError:
        raise invalid_params(f"`transaction` is not valid {enc}") from None
    if len(raw) > MAX_RAW_TX:
        raise invalid_params(f"transaction too large: {len(raw)} bytes (max: 1232)")
    try:
        tx = VersionedTransaction.from_bytes(raw)
        tx.sanitize()
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise invalid_params(f"failed to deserialize transaction: {exc}") from None
    if not tx.signatures:
        raise invalid_params("transaction has no signatures")
    return tx
