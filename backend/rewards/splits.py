"""Exact integer splits by the largest-remainder rule (rule 5 of the rewards issue)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import floordiv, mul, sub


def largest_remainder(total: int, weights: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Split ``total`` over ``weights`` so that the parts sum exactly to ``total``.

    ``base_i = total * w_i // W`` and ``frac_i = total * w_i % W``; the ``total - sum(base)`` units left over
    go one each to the entries with the largest ``frac_i``, ties to the smaller key (string order).

    Args:
        total: The amount to split (>= 0).
        weights: Non-negative weights with a positive sum.
        keys: One distinct key per weight, used only to break ties.

    Returns:
        The parts, in the order of ``weights``.

    Raises:
        ValueError: The weights sum to zero, a weight is negative, or the lengths differ.
    """
    if len(weights) != len(keys):
        raise ValueError("weights and keys differ in length")
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("total and weights must be non-negative")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights sum to zero")
    return split_unchecked(total, weights, keys, weight_sum)


def split_unchecked(
    total: int,
    weights: Sequence[int],
    keys: Sequence[str],
    weight_sum: int,
    key_order: list[int] | None = None,
) -> list[int]:
    """:func:`largest_remainder` without argument checks, for callers that already hold valid input.

    ``key_order`` (the indices sorted by key) may be passed when the caller splits several totals over the
    same keys.
    """
    products = list(map(mul, repeat(total), weights))
    parts = list(map(floordiv, products, repeat(weight_sum)))
    left = total - sum(parts)
    if left:
        # Largest remainder first, then the smaller key: a stable sort by remainder (descending; reverse
        # keeps stability) of the indices in key order. Since left < (number of positive remainders), an
        # entry with remainder 0 is never among the first `left`.
        if key_order is None:
            key_order = sorted(range(len(keys)), key=keys.__getitem__)
        remainders = list(map(sub, products, map(mul, parts, repeat(weight_sum))))
        for i in sorted(key_order, key=remainders.__getitem__, reverse=True)[:left]:
            parts[i] += 1
    return parts
