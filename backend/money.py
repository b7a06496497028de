"""Numeric limits and exact money helpers: the one home for both. No float anywhere.

Amounts are ``int`` base units; a human amount ("12.5") is converted exactly with the mint's decimals.
"""

from __future__ import annotations

import re

from backend.errors import InvalidInput

U64_MAX = 2**64 - 1  # token amounts, lamports
I64_MAX = 2**63 - 1  # unix times, signed on chain
U32_MAX = 2**32 - 1
BPS = 10_000  # basis points in one whole
LAMPORTS_PER_SOL = 10**9
SOL_DECIMALS = 9
_AMOUNT = re.compile(r"^(\d+)(?:\.(\d+))?$")


def to_base_units(text: str, decimals: int) -> int:
    """Parse a non-negative decimal amount into base units; more digits than ``decimals`` is an error.

    >>> to_base_units("12.5", 8)
    1250000000
    """
    m = _AMOUNT.match(text.strip())
    if not m:
        raise InvalidInput(f"amount {text!r} is not a non-negative decimal number")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > decimals:
        raise InvalidInput(f"amount {text!r} has more than {decimals} decimal places")
    if len(whole.lstrip("0")) > len(str(U64_MAX)):  # also keeps int() below its digit limit
        raise InvalidInput(f"amount {text!r} exceeds the u64 range of a token amount")
    units = int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    if units > U64_MAX:
        raise InvalidInput(f"amount {text!r} exceeds the u64 range of a token amount")
    return units


def io_unit(decimals: int) -> int:
    """Base units in one whole token of a mint with ``decimals``."""
    return 10**decimals


def format_units(units: int, decimals: int) -> str:
    """Render base units as a decimal string with trailing zeros trimmed ("12.5", "3")."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)
    return sign + text
