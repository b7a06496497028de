"""Solana Pay transfer-request URLs: ``solana:<recipient>?amount=&spl-token=&reference=&label=&message=&memo=``.

As the spec says: ``recipient`` is the wallet (the payer's wallet sends to its associated token account of
``spl-token``); ``amount`` is in UI units of the mint (a decimal with at most the mint's decimals, a leading ``0``
before a ``.``); every value is URL-encoded. Amounts in base units are converted exactly (``backend.money``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from backend.errors import InvalidInput
from backend.money import format_units, to_base_units

MAX_URL = 2048  # what @solana/pay's parseURL accepts


@dataclass(frozen=True)
class TransferRequest:
    """The fields of a transfer request; ``amount`` in base units of a mint with ``decimals``."""

    recipient: str
    amount: int | None
    spl_token: str | None
    references: tuple[str, ...]
    label: str | None = None
    message: str | None = None
    memo: str | None = None


def encode(req: TransferRequest, decimals: int) -> str:
    """The ``solana:`` URL of a transfer request (parameters in the spec's order, values percent-encoded)."""
    parts: list[tuple[str, str]] = []
    if req.amount is not None:
        parts.append(("amount", format_units(req.amount, decimals)))
    if req.spl_token:
        parts.append(("spl-token", req.spl_token))
    parts.extend(("reference", r) for r in req.references)
    for name, value in (("label", req.label), ("message", req.message), ("memo", req.memo)):
        if value:
            parts.append((name, value))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in parts)
    url = f"solana:{req.recipient}" + (f"?{query}" if query else "")
    if len(url) > MAX_URL:
        raise InvalidInput(f"the Solana Pay URL would be {len(url)} characters; wallets accept at most {MAX_URL}")
    return url


def _pubkey(value: str, name: str) -> str:
    from solders.pubkey import Pubkey

    try:
        return str(Pubkey.from_string(value))
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a base58 public key") from None


def parse(url: str, decimals_of: dict[str, int]) -> TransferRequest:
    """Parse a transfer-request URL as a wallet would; ``decimals_of`` maps known mints to their decimals (the
    amount must fit them exactly). Transaction-request URLs (``solana:https://...``) are refused."""
    if len(url) > MAX_URL:
        raise InvalidInput("url: longer than 2048 characters")
    parts = urlsplit(url)
    if parts.scheme != "solana":
        raise InvalidInput("url: not a solana: URL")
    if ":" in parts.path or "%" in parts.path:
        raise InvalidInput("url: a transaction request (solana:https://...), not a transfer request")
    recipient = _pubkey(parts.path, "recipient")
    q = parse_qs(parts.query, keep_blank_values=False)

    def one(name: str) -> str | None:
        values = q.get(name)
        return values[0] if values else None

    spl = one("spl-token")
    if spl is not None:
        spl = _pubkey(spl, "spl-token")
    amount: int | None = None
    raw_amount = one("amount")
    if raw_amount is not None:
        if spl is not None and spl not in decimals_of:
            raise InvalidInput(f"spl-token: {spl} is not a mint this wallet knows")
        amount = to_base_units(raw_amount, decimals_of[spl] if spl else 9)
    refs = tuple(_pubkey(r, "reference") for r in q.get("reference", []))
    return TransferRequest(recipient, amount, spl, refs, one("label"), one("message"), one("memo"))
