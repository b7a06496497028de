"""Anchor events decoded generically from an IDL (legacy pre-0.30 format, and the 0.30 format).

An Anchor event is ``sha256("event:<Name>")[:8]`` followed by the borsh encoding of its fields. Decoding is
strict: too few bytes or bytes left over is :class:`MalformedEvent`. Integers wider than 32 bits come out as
decimal strings (amounts never pass through float); public keys as base58; byte arrays as hex.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import based58

from indexer.errors import IdlError, MalformedEvent

_INTS: dict[str, tuple[str, int, bool]] = {
    "u8": ("<B", 1, False),
    "i8": ("<b", 1, False),
    "u16": ("<H", 2, False),
    "i16": ("<h", 2, False),
    "u32": ("<I", 4, False),
    "i32": ("<i", 4, False),
    "u64": ("<Q", 8, True),
    "i64": ("<q", 8, True),
    "f32": ("<f", 4, False),
    "f64": ("<d", 8, False),
}


def event_discriminator(name: str) -> bytes:
    """The Anchor discriminator of event ``name``."""
    return hashlib.sha256(f"event:{name}".encode()).digest()[:8]


@dataclass(frozen=True)
class EventLayout:
    """One event: its name, discriminator and field list ``[(name, type), ...]``."""

    name: str
    discriminator: bytes
    fields: list[tuple[str, Any]]


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.buf):
            raise MalformedEvent(f"truncated: need {end} bytes, have {len(self.buf)}")
        out = self.buf[self.pos : end]
        self.pos = end
        return out


class EventCoder:
    """Decodes the events of one program from its IDL."""

    def __init__(self, idl: dict[str, Any]) -> None:
        if not isinstance(idl, dict) or not isinstance(idl.get("events", []), list):
            raise IdlError("IDL must be a JSON object with an 'events' list")
        self.types: dict[str, dict[str, Any]] = {}
        for t in idl.get("types", []) or []:
            try:
                self.types[t["name"]] = t["type"]
            except (KeyError, TypeError) as exc:
                raise IdlError(f"bad type entry in IDL: {t!r}") from exc
        self.accounts: dict[str, list[tuple[str, Any]]] = {}
        for acc in idl.get("accounts", []) or []:
            tdef = acc.get("type") or self.types.get(acc.get("name"), {})
            self.accounts[acc["name"]] = [(f["name"], f["type"]) for f in tdef.get("fields", [])]
        self.by_disc: dict[bytes, EventLayout] = {}
        for ev in idl.get("events", []) or []:
            try:
                name = ev["name"]
                if "fields" in ev:  # legacy format: fields inline
                    fields = [(f["name"], f["type"]) for f in ev["fields"]]
                else:  # 0.30 format: fields in the type of the same name
                    tdef = self.types[name]
                    fields = [(f["name"], f["type"]) for f in tdef.get("fields", [])]
                disc = bytes(ev["discriminator"]) if "discriminator" in ev else event_discriminator(name)
            except (KeyError, TypeError) as exc:
                raise IdlError(f"bad event entry in IDL: {ev!r}") from exc
            self.by_disc[disc] = EventLayout(name, disc, fields)

    @classmethod
    def from_file(cls, path: Path) -> EventCoder:
        """Load an IDL JSON file."""
        try:
            return cls(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise IdlError(f"cannot read IDL {path}: {exc}") from exc

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """Decode one event payload into ``(name, fields)``; raise MalformedEvent on any mismatch."""
        if len(data) < 8:
            raise MalformedEvent(f"{len(data)} bytes is shorter than a discriminator")
        layout = self.by_disc.get(bytes(data[:8]))
        if layout is None:
            raise MalformedEvent(f"unknown discriminator {bytes(data[:8]).hex()}")
        r = _Reader(data)
        r.pos = 8
        try:
            out = {name: self._read(r, ty) for name, ty in layout.fields}
        except MalformedEvent as exc:
            raise MalformedEvent(f"{layout.name}: {exc}", name=layout.name) from None
        if r.pos != len(data):
            raise MalformedEvent(
                f"{layout.name}: {len(data) - r.pos} trailing bytes (expected {r.pos}, got {len(data)})",
                name=layout.name,
            )
        return layout.name, out

    def decode_account(self, name: str, data: bytes) -> dict[str, Any]:
        """Decode Anchor account ``name``: ``account:<Name>`` discriminator + borsh (padding allowed)."""
        disc = hashlib.sha256(f"account:{name}".encode()).digest()[:8]
        if name not in self.accounts:
            raise MalformedEvent(f"account type {name} not in IDL")
        if bytes(data[:8]) != disc:
            raise MalformedEvent(f"not a {name} account")
        r = _Reader(data)
        r.pos = 8
        return {fname: self._read(r, ty) for fname, ty in self.accounts[name]}

    def _read(self, r: _Reader, ty: Any) -> Any:
        if isinstance(ty, str):
            spec = _INTS.get(ty)
            if spec is not None:
                fmt, size, wide = spec
                v = struct.unpack(fmt, r.take(size))[0]
                return str(v) if wide else v
            if ty in ("u128", "i128"):
                return str(int.from_bytes(r.take(16), "little", signed=ty == "i128"))
            if ty == "bool":
                b = r.take(1)[0]
                if b > 1:
                    raise MalformedEvent(f"bool byte {b}")
                return b == 1
            if ty in ("publicKey", "pubkey"):
                return based58.b58encode(r.take(32)).decode()
            if ty in ("string", "bytes"):
                (n,) = struct.unpack("<I", r.take(4))
                raw = r.take(n)
                if ty == "bytes":
                    return raw.hex()
                try:
                    return raw.decode()
                except UnicodeDecodeError as exc:
                    raise MalformedEvent("string is not UTF-8") from exc
            raise MalformedEvent(f"unsupported IDL type {ty!r}")
        if isinstance(ty, dict):
            if "vec" in ty:
                (n,) = struct.unpack("<I", r.take(4))
                if n > len(r.buf):
                    raise MalformedEvent(f"vec length {n} exceeds payload")
                return [self._read(r, ty["vec"]) for _ in range(n)]
            if "option" in ty or "coption" in ty:
                inner = ty.get("option", ty.get("coption"))
                tag = r.take(4 if "coption" in ty else 1)
                if not any(tag):
                    return None
                if tag[0] != 1 or any(tag[1:]):
                    raise MalformedEvent(f"option tag {tag.hex()}")
                return self._read(r, inner)
            if "array" in ty:
                inner, n = ty["array"]
                if inner == "u8":
                    return r.take(int(n)).hex()
                return [self._read(r, inner) for _ in range(int(n))]
            if "defined" in ty:
                d = ty["defined"]
                name = d["name"] if isinstance(d, dict) else d
                tdef = self.types.get(name)
                if tdef is None:
                    raise MalformedEvent(f"undefined type {name}")
                return self._read_defined(r, tdef)
        raise MalformedEvent(f"unsupported IDL type {ty!r}")

    def _read_defined(self, r: _Reader, tdef: dict[str, Any]) -> Any:
        kind = tdef.get("kind")
        if kind == "struct":
            fields = tdef.get("fields", [])
            if fields and isinstance(fields[0], dict):
                return {f["name"]: self._read(r, f["type"]) for f in fields}
            return [self._read(r, f) for f in fields]
        if kind == "enum":
            idx = r.take(1)[0]
            variants = tdef.get("variants", [])
            if idx >= len(variants):
                raise MalformedEvent(f"enum variant {idx} out of range")
            v = variants[idx]
            vf = v.get("fields")
            if not vf:
                return v["name"]
            if isinstance(vf[0], dict):
                return {v["name"]: {f["name"]: self._read(r, f["type"]) for f in vf}}
            return {v["name"]: [self._read(r, f) for f in vf]}
        raise MalformedEvent(f"unsupported type kind {kind!r}")
