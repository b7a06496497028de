"""Base58 (Bitcoin alphabet) for arbitrary bytes, as ``str``: a thin layer over the ``based58`` dependency."""

from __future__ import annotations

import based58


def b58encode(data: bytes) -> str:
    """Encode bytes as base58."""
    return based58.b58encode(data).decode()


def b58decode(text: str) -> bytes:
    """Decode base58 text; raises ValueError on a character outside the alphabet (or non-ASCII text)."""
    return based58.b58decode(text.encode())
