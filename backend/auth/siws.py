"""Sign-In With Solana messages: rendering, parsing, the off-chain message envelope, signature checks.

Pure functions (no database, no clock). The text layout is the one wallets render for the Wallet Standard
``solana:signIn`` feature (EIP-4361 / CAIP-122, LF only, a line only for a field that is set)::

    {domain} wants you to sign in with your Solana account:
    {address}

    {statement}

    URI: {uri}
    Version: 1
    Chain ID: {chain_id}
    Nonce: {nonce}
    Issued At: {issued_at}
    Expiration Time: {expiration_time}

Two layouts have shipped in wallets; they differ only when there is no statement: the Wallet Standard's
``createSignInMessageText`` puts the fields one blank line below the address (``STANDARD``), EIP-4361's ABNF
keeps an empty statement line, so two blank lines (``EIP4361``). Ledger devices sign the text inside Solana's
off-chain message envelope (``b"\\xffsolana offchain"``, version 0, format, u16 length).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import based58
from solders.pubkey import Pubkey
from solders.signature import Signature

STANDARD = "standard"
EIP4361 = "eip4361"
LAYOUTS = (STANDARD, EIP4361)

OFFCHAIN_DOMAIN = b"\xffsolana offchain"
OFFCHAIN_VERSION = 0
#: Off-chain message formats: 0 restricted ASCII, 1 limited UTF-8 (both <= 1212 bytes, what Ledger shows),
#: 2 extended UTF-8 (<= 65535 bytes).
FORMAT_ASCII, FORMAT_UTF8, FORMAT_UTF8_EXTENDED = 0, 1, 2
LEDGER_MAX = 1212

_HEADER = re.compile(r"^(?P<domain>[^\n]+) wants you to sign in with your Solana account:\n(?P<address>[^\n]+)\n")
_FIELD = re.compile(r"^(URI|Version|Chain ID|Nonce|Issued At|Expiration Time|Not Before|Request ID): (.+)$")


@dataclass(frozen=True)
class SignInFields:
    """The fields of a sign-in message (strings exactly as they appear in the text)."""

    domain: str
    address: str
    statement: str | None
    uri: str | None
    version: str | None
    chain_id: str | None
    nonce: str | None
    issued_at: str | None
    expiration_time: str | None


class MalformedMessage(ValueError):
    """Text or bytes that are not a sign-in message (or a valid envelope of one)."""


def iso(ts: int) -> str:
    """Unix seconds as the RFC 3339 UTC timestamp the message carries (``2026-12-01T10:00:00Z``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(f: SignInFields, layout: str = STANDARD) -> str:
    """The message text of ``f`` in ``layout``."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    text = f"{f.domain} wants you to sign in with your Solana account:\n{f.address}"
    if f.statement:
        text += f"\n\n{f.statement}"
    elif layout == EIP4361:
        text += "\n"  # the empty statement line of EIP-4361's ABNF
    fields = [
        f"{name}: {value}"
        for name, value in (
            ("URI", f.uri),
            ("Version", f.version),
            ("Chain ID", f.chain_id),
            ("Nonce", f.nonce),
            ("Issued At", f.issued_at),
            ("Expiration Time", f.expiration_time),
        )
        if value
    ]
    if fields:
        text += "\n\n" + "\n".join(fields)
    return text


def parse(text: str) -> SignInFields:
    """The fields of a message in either layout; :class:`MalformedMessage` when it is not one."""
    m = _HEADER.match(text)
    if m is None:
        raise MalformedMessage(
            "the message does not start with '<domain> wants you to sign in with your Solana account:'"
        )
    # Both layouts: the statement (if any) and the fields block follow after blank lines.
    blocks = text[m.end() :].lstrip("\n").split("\n\n")
    values: dict[str, str] = {}
    statement: str | None = None
    # The last block holding only "Name: value" lines is the fields block; what lies between is the statement.
    if blocks and blocks[-1] and all(_FIELD.match(line) for line in blocks[-1].split("\n")):
        for line in blocks[-1].split("\n"):
            fm = _FIELD.match(line)
            assert fm is not None
            if fm.group(1) in values:
                raise MalformedMessage(f"field {fm.group(1)!r} appears twice")
            values[fm.group(1)] = fm.group(2)
        blocks = blocks[:-1]
    middle = "\n\n".join(blocks).strip("\n")
    statement = middle or None
    return SignInFields(
        domain=m.group("domain"),
        address=m.group("address"),
        statement=statement,
        uri=values.get("URI"),
        version=values.get("Version"),
        chain_id=values.get("Chain ID"),
        nonce=values.get("Nonce"),
        issued_at=values.get("Issued At"),
        expiration_time=values.get("Expiration Time"),
    )


def offchain_envelope(text: str) -> bytes:
    """``text`` inside Solana's off-chain message envelope (version 0), as a Ledger device signs it."""
    body = text.encode()
    if len(body) > 0xFFFF:
        raise ValueError("an off-chain message holds at most 65535 bytes")
    if len(body) <= LEDGER_MAX and all(0x20 <= b < 0x7F or b == 0x0A for b in body):
        fmt = FORMAT_ASCII
    elif len(body) <= LEDGER_MAX:
        fmt = FORMAT_UTF8
    else:
        fmt = FORMAT_UTF8_EXTENDED
    return OFFCHAIN_DOMAIN + bytes([OFFCHAIN_VERSION, fmt]) + len(body).to_bytes(2, "little") + body


def open_envelope(data: bytes) -> str:
    """The text inside an off-chain message envelope; :class:`MalformedMessage` on any header error."""
    if not data.startswith(OFFCHAIN_DOMAIN):
        raise MalformedMessage("not an off-chain message envelope")
    head = data[len(OFFCHAIN_DOMAIN) : len(OFFCHAIN_DOMAIN) + 4]
    if len(head) < 4:
        raise MalformedMessage("off-chain message envelope: truncated header")
    version, fmt, length = head[0], head[1], int.from_bytes(head[2:4], "little")
    body = data[len(OFFCHAIN_DOMAIN) + 4 :]
    if version != OFFCHAIN_VERSION:
        raise MalformedMessage(f"off-chain message envelope: unsupported version {version}")
    if fmt not in (FORMAT_ASCII, FORMAT_UTF8, FORMAT_UTF8_EXTENDED):
        raise MalformedMessage(f"off-chain message envelope: unknown format {fmt}")
    if length != len(body):
        raise MalformedMessage(f"off-chain message envelope: length {length} but {len(body)} bytes follow")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise MalformedMessage("off-chain message envelope: the message is not UTF-8") from None
    if fmt == FORMAT_ASCII and not all(0x20 <= b < 0x7F or b == 0x0A for b in body):
        raise MalformedMessage("off-chain message envelope: format 0 allows printable ASCII only")
    if fmt != FORMAT_UTF8_EXTENDED and length > LEDGER_MAX:
        raise MalformedMessage(f"off-chain message envelope: format {fmt} holds at most {LEDGER_MAX} bytes")
    return text


def decode_signature(value: str) -> Signature:
    """A 64-byte ed25519 signature given as base58 or base64; ``ValueError`` otherwise."""
    raw: bytes | None = None
    if len(value) <= 100:
        try:
            raw = bytes(based58.b58decode(value.encode()))
        except (ValueError, TypeError):
            raw = None
        if raw is None or len(raw) != 64:
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raw = None
    if raw is None or len(raw) != 64:
        raise ValueError("signature: expected 64 bytes in base58 or base64")
    return Signature.from_bytes(raw)


def verify(address: str, message: bytes, signature: Signature) -> bool:
    """Whether ``signature`` is ``address``'s ed25519 signature over exactly ``message``."""
    try:
        key = Pubkey.from_string(address)
    except ValueError:
        return False
    return signature.verify(key, message)
