"""The marketplace score, published and versioned (``GET /marketplace/score``). Pure integer functions.

Version 1: a node is eligible when its operator holds the minimum stake (min_stake_per_gpu x gpu_units), it was
not slashed in the last 30 days, and it is active. Each component ranks the node among the eligible nodes
(percentile, 0..10000, ties equal: the share of eligible nodes strictly worse); the score is the weighted sum of
the ranks for an eligible node and 0 otherwise. A component without data (uptime, compute until the epoch runner
reports them) ranks 0. Changing anything here is a new ``VERSION``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

from backend.money import BPS

VERSION = 1
SLASH_WINDOW_SECONDS = 30 * 86_400
#: (name, weight in bps, higher is better)
COMPONENTS: tuple[tuple[str, int, bool], ...] = (
    ("commission", 3_000, False),
    ("uptime", 4_000, True),
    ("age", 1_000, True),
    ("compute", 2_000, True),
)
INPUTS = {
    "commission": "commission_bps in force, or the pending increase when higher",
    "uptime": "uptime_30d_bps: verified uptime over 30 days",
    "age": "seconds since the finalized registration",
    "compute": "compute_7d_gpu_seconds: GPU-seconds delivered over 7 days",
}
OPERATOR_BELOW_MINIMUM, SLASHED_RECENTLY, INACTIVE = "operator_below_minimum", "slashed_recently", "inactive"


class ScoreInput(NamedTuple):
    """What the score reads of one node (None: no data). A tuple: the refresh builds 100,000 of them."""

    operator_stake: int
    min_operator_stake: int | None
    active: bool
    last_slash_at: int | None
    slashed: bool
    commission: int | None
    uptime: int | None
    age: int | None
    compute: int | None


class Score(NamedTuple):
    eligible: bool
    reasons: tuple[str, ...]
    ranks: dict[str, int]
    value: int


def reasons(node: ScoreInput, now: int) -> tuple[str, ...]:
    """Why a node is not eligible (empty: eligible)."""
    out = []
    if node.min_operator_stake is None or node.operator_stake < node.min_operator_stake:
        out.append(OPERATOR_BELOW_MINIMUM)
    if node.slashed and (node.last_slash_at is None or now - node.last_slash_at < SLASH_WINDOW_SECONDS):
        out.append(SLASHED_RECENTLY)
    if not node.active:
        out.append(INACTIVE)
    return tuple(out)


def score_all(nodes: Sequence[ScoreInput], now: int) -> list[Score]:
    """Scores of ``nodes`` (ranked among the eligible ones), in input order."""
    why = [reasons(n, now) for n in nodes]
    eligible = [i for i, r in enumerate(why) if not r]
    n_eligible = len(eligible)
    denominator = max(1, n_eligible - 1)
    ranks: dict[str, list[int]] = {}
    for name, _weight, higher in COMPONENTS:
        sign = 1 if higher else -1
        values = [getattr(n, name) for n in nodes]
        goodness = [None if v is None else sign * v for v in values]
        with_data = sorted(g for g in (goodness[i] for i in eligible) if g is not None)
        without = n_eligible - len(with_data)
        column = []
        for g in goodness:
            if g is None:
                column.append(0)
            elif n_eligible <= 1:
                column.append(BPS)  # with one eligible node, being as good as everyone is the top rank
            else:
                # eligible nodes strictly worse: those without data, plus those with a lower goodness
                column.append(min(BPS, (without + bisect_left(with_data, g)) * BPS // denominator))
        ranks[name] = column
    names = [name for name, _w, _h in COMPONENTS]
    weights = [w for _n, w, _h in COMPONENTS]
    out = []
    for i, r in enumerate(why):
        node_ranks = {name: ranks[name][i] for name in names}
        value = 0 if r else sum(node_ranks[n] * w for n, w in zip(names, weights, strict=True)) // BPS
        out.append(Score(not r, r, node_ranks, value))
    return out


def describe() -> dict[str, object]:
    """The published description of this version (``GET /marketplace/score``)."""
    return {
        "version": VERSION,
        "summary": "Eligibility filters times ranked components; every component is shown per node.",
        "eligibility": [
            f"{OPERATOR_BELOW_MINIMUM}: the operator's own bonded stake is at least min_stake_per_gpu x gpu_units",
            f"{SLASHED_RECENTLY}: no slash in the last {SLASH_WINDOW_SECONDS // 86_400} days",
            f"{INACTIVE}: the node is active on chain",
        ],
        "slash_window_seconds": SLASH_WINDOW_SECONDS,
        "components": [
            {
                "name": name,
                "weight_bps": weight,
                "input": INPUTS[name],
                "better": "higher" if higher else "lower",
                "when_missing": "ranks 0",
            }
            for name, weight, higher in COMPONENTS
        ],
        "rank": "percentile among eligible nodes: (eligible nodes strictly worse) x 10000 / (eligible nodes - 1), "
        "rounded down; ties rank equal; a sole eligible node with data ranks 10000",
        "formula": "score = sum(rank x weight_bps) / 10000, rounded down, for an eligible node; 0 otherwise",
    }
