"""The emission schedule: exact values, the cap, the last epoch and the fixed-point fallback."""

from __future__ import annotations

from fractions import Fraction

import pytest

from backend.rewards import emission as em
from backend.rewards.errors import EmissionEpochError


def floor_exact(n: int) -> int:
    """floor(V0 * r**n) with Fractions (fine for small n)."""
    return int(em.V0 * Fraction(em.RATIO_NUMERATOR, em.RATIO_DENOMINATOR) ** n)


class TestSchedule:
    def test_epoch_zero_emits_4566_21_io(self) -> None:
        assert em.emission(0) == 456_621_000_000
        assert em.format_io(em.emission(0)) == "4566.21000000"

    def test_epoch_one_is_0_0013886952_percent_less_rounded_down(self) -> None:
        # 456621000000 * 0.999986113048 = 456614658926.090808 -> 456614658926
        assert em.emission(1) == 456_614_658_926 == floor_exact(1)

    @pytest.mark.parametrize("n", [2, 3, 17, 1000, 4321])
    def test_matches_fraction_arithmetic(self, n: int) -> None:
        assert em.emission(n) == floor_exact(n)

    @pytest.mark.parametrize("n", [0, 1, 99_999, 175_317])
    def test_matches_exact_decimal_arithmetic(self, n: int) -> None:
        assert em.emission(n) == em.schedule_value_exact(n)

    def test_decimal_and_fraction_agree(self) -> None:
        assert em.schedule_value_exact(2500) == floor_exact(2500)

    def test_last_epoch_takes_exactly_what_remains(self) -> None:
        last = em.emission(em.LAST_EPOCH)
        assert last == em.TOTAL_EMISSION - em.emitted_before(em.LAST_EPOCH)
        assert em.format_io(last) == "396.57629970"
        assert last < em.schedule_value_exact(em.LAST_EPOCH)

    def test_total_is_exactly_300_million_io(self) -> None:
        assert em.emitted_before(em.EPOCHS) == 300_000_000 * 10**8
        assert sum(em.emission(n) for n in range(em.EPOCHS)) == em.TOTAL_EMISSION

    @pytest.mark.parametrize("n", [em.EPOCHS, em.EPOCHS + 1, 10**9])
    def test_epochs_after_the_last_emit_zero(self, n: int) -> None:
        assert em.emission(n) == 0
        assert em.emitted_before(n) == em.TOTAL_EMISSION

    def test_emission_never_increases(self) -> None:
        values = [em.emission(n) for n in range(em.EPOCHS)]
        assert all(a >= b for a, b in zip(values, values[1:], strict=False))

    def test_prefix_sum_is_consistent(self) -> None:
        assert em.emitted_before(0) == 0
        assert em.emitted_before(3) == em.emission(0) + em.emission(1) + em.emission(2)

    @pytest.mark.parametrize("bad", [-1, 1.5, "3"])
    def test_bad_epoch_is_rejected(self, bad: object) -> None:
        with pytest.raises(EmissionEpochError):
            em.emission(bad)  # type: ignore[arg-type]


class TestFixedPointFallback:
    def test_too_few_guard_bits_fall_back_to_exact_values(self) -> None:
        # With 2 guard bits the error interval often straddles an integer; the fallback must fix every one.
        values, fallbacks = em.build_schedule(epochs=400, guard_bits=2)
        assert fallbacks > 0
        assert values == [floor_exact(n) for n in range(400)]

    def test_full_precision_needs_no_fallback(self) -> None:
        values, fallbacks = em.build_schedule()
        assert fallbacks == 0
        assert len(values) == em.EPOCHS
