"""Exact parsing and formatting of IO amounts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import InvalidInput
from backend.money import format_units, to_base_units


class TestToBaseUnits:
    @pytest.mark.parametrize(
        ("text", "units"),
        [("0", 0), ("12.5", 1_250_000_000), ("0.00000001", 1), ("4566.21", 456_621_000_000), (" 7 ", 700_000_000)],
    )
    def test_exact_values(self, text: str, units: int) -> None:
        assert to_base_units(text, 8) == units

    @pytest.mark.parametrize("bad", ["-1", "1e3", "1.", ".5", "abc", "", "1.000000001", "NaN", "1,5"])
    def test_malformed_or_too_precise_is_refused(self, bad: str) -> None:
        with pytest.raises(InvalidInput):
            to_base_units(bad, 8)

    def test_beyond_u64_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="u64"):
            to_base_units("184467440737.09551616", 8)
        assert to_base_units("184467440737.09551615", 8) == 2**64 - 1

    def test_a_huge_whole_part_is_refused_not_a_crash(self) -> None:
        with pytest.raises(InvalidInput, match="u64"):
            to_base_units("9" * 5000, 8)  # beyond int()'s 4300-digit limit
        assert to_base_units("0" * 30 + "1", 8) == 100_000_000

    @given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=12))
    def test_format_then_parse_round_trips(self, units: int, decimals: int) -> None:
        text = format_units(units, decimals)
        if units <= 2**64 - 1:
            assert to_base_units(text, decimals) == units
