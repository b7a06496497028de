"""Rule 5: largest-remainder splits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.rewards.splits import largest_remainder


class TestHandWorked:
    def test_three_equal_weights_give_the_extra_unit_to_the_smallest_key(self) -> None:
        # 10 / 3 = 3 rem 1 each: all fracs tie, the single leftover unit goes to key "a".
        assert largest_remainder(10, [1, 1, 1], ["c", "a", "b"]) == [3, 4, 3]

    def test_largest_fraction_wins_before_key_order(self) -> None:
        # 100 over 1:2:4 (W=7): bases 14, 28, 57 (sum 99); fracs 2, 4, 1 -> the leftover goes to "z" (frac 4).
        assert largest_remainder(100, [1, 2, 4], ["a", "z", "m"]) == [14, 29, 57]

    def test_two_leftover_units(self) -> None:
        # 5 over 1:1:1 -> bases 1,1,1, fracs 2,2,2, two units go to the two smallest keys "a" and "b".
        assert largest_remainder(5, [1, 1, 1], ["b", "c", "a"]) == [2, 1, 2]

    def test_zero_weight_entry_gets_nothing(self) -> None:
        assert largest_remainder(7, [0, 1, 1], ["a", "b", "c"]) == [0, 4, 3]

    def test_zero_total(self) -> None:
        assert largest_remainder(0, [3, 5], ["a", "b"]) == [0, 0]

    def test_ties_use_string_order_not_numeric(self) -> None:
        # "10" < "9" as strings.
        assert largest_remainder(1, [1, 1], ["9", "10"]) == [0, 1]

    @pytest.mark.parametrize("weights", [[], [0, 0]])
    def test_zero_total_weight_is_rejected(self, weights: list[int]) -> None:
        with pytest.raises(ValueError):
            largest_remainder(5, weights, [str(i) for i in range(len(weights))])

    def test_negative_weight_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            largest_remainder(5, [2, -1], ["a", "b"])


weights_and_total = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.integers(0, 2**64 - 1),
        st.lists(st.integers(0, 2**70), min_size=n, max_size=n).filter(lambda w: sum(w) > 0),
    )
)


class TestProperties:
    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(weights_and_total)
    def test_parts_sum_exactly_to_total(self, tw: tuple[int, list[int]]) -> None:
        total, weights = tw
        assert sum(largest_remainder(total, weights, [f"k{i}" for i in range(len(weights))])) == total

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(weights_and_total)
    def test_each_part_is_floor_or_ceil_of_exact_share(self, tw: tuple[int, list[int]]) -> None:
        total, weights = tw
        parts = largest_remainder(total, weights, [f"k{i}" for i in range(len(weights))])
        for part, w in zip(parts, weights, strict=True):
            exact = Fraction(total * w, sum(weights))
            assert exact - 1 < part < exact + 1

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(weights_and_total, st.randoms())
    def test_input_order_does_not_matter(self, tw: tuple[int, list[int]], rnd) -> None:  # type: ignore[no-untyped-def]
        total, weights = tw
        keys = [f"k{i}" for i in range(len(weights))]
        base = dict(zip(keys, largest_remainder(total, weights, keys), strict=True))
        order = list(range(len(keys)))
        rnd.shuffle(order)
        shuffled = largest_remainder(total, [weights[i] for i in order], [keys[i] for i in order])
        assert dict(zip([keys[i] for i in order], shuffled, strict=True)) == base
