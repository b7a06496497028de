"""Amounts as the API takes them: decimal strings of base units (never floats, never UI units)."""

from __future__ import annotations

import re

from backend.errors import InvalidInput
from backend.money import I64_MAX

_DIGITS = re.compile(r"^[0-9]{1,20}$")


def parse_amount(text: object, name: str = "amount", *, allow_zero: bool = False) -> int:
    """Base units from a decimal string (``"1250000000"``); ``InvalidInput`` naming ``name`` otherwise."""
    if not isinstance(text, str) or not _DIGITS.match(text):
        raise InvalidInput(f'{name}: a decimal string of base units is required (e.g. "1250000000"), got {text!r}')
    value = int(text)
    # The ledger holds amounts on SQLite too (signed 64-bit): the API accepts what every backend stores exactly.
    if value > I64_MAX:
        raise InvalidInput(f"{name}: {text} is above the largest amount accepted (2**63-1 base units)")
    if value == 0 and not allow_zero:
        raise InvalidInput(f"{name}: must be greater than zero")
    return value
