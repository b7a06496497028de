"""The published score: eligibility, percentile ranks among eligible nodes, weights, and its description."""

from __future__ import annotations

from backend.nodes import score

NOW = 1_800_000_000
BASE = score.ScoreInput(
    operator_stake=1_000,
    min_operator_stake=1_000,
    active=True,
    last_slash_at=None,
    slashed=False,
    commission=500,
    uptime=None,
    age=3_600,
    compute=None,
)


class TestEligibility:
    def test_each_reason(self) -> None:
        assert score.reasons(BASE, NOW) == ()
        assert score.reasons(BASE._replace(operator_stake=999), NOW) == (score.OPERATOR_BELOW_MINIMUM,)
        assert score.reasons(BASE._replace(min_operator_stake=None), NOW) == (score.OPERATOR_BELOW_MINIMUM,)
        assert score.reasons(BASE._replace(active=False), NOW) == (score.INACTIVE,)
        recent = BASE._replace(slashed=True, last_slash_at=NOW - score.SLASH_WINDOW_SECONDS + 1)
        assert score.reasons(recent, NOW) == (score.SLASHED_RECENTLY,)
        old = BASE._replace(slashed=True, last_slash_at=NOW - score.SLASH_WINDOW_SECONDS)
        assert score.reasons(old, NOW) == ()

    def test_an_ineligible_node_scores_zero_but_shows_its_ranks(self) -> None:
        good, bad = BASE, BASE._replace(active=False, commission=0)
        s_good, s_bad = score.score_all([good, bad], NOW)
        assert s_bad.value == 0 and not s_bad.eligible and s_bad.reasons == (score.INACTIVE,)
        assert s_bad.ranks["commission"] == 10_000  # lower commission than every eligible node
        assert s_good.eligible and s_good.value > 0


class TestRanks:
    def test_percentile_ranks_ties_and_missing_data(self) -> None:
        nodes = [
            BASE._replace(commission=100, uptime=9_900, age=10, compute=5),
            BASE._replace(commission=500, uptime=9_000, age=20, compute=None),
            BASE._replace(commission=500, uptime=None, age=30, compute=7),
        ]
        a, b, c = score.score_all(nodes, NOW)
        # commission: lower is better; b and c tie
        assert (a.ranks["commission"], b.ranks["commission"], c.ranks["commission"]) == (10_000, 0, 0)
        # uptime: c has no data (ranks 0 and counts as worse than everyone with data)
        assert (a.ranks["uptime"], b.ranks["uptime"], c.ranks["uptime"]) == (10_000, 5_000, 0)
        assert (a.ranks["age"], b.ranks["age"], c.ranks["age"]) == (0, 5_000, 10_000)
        assert (a.ranks["compute"], b.ranks["compute"], c.ranks["compute"]) == (5_000, 0, 10_000)
        weights = {name: w for name, w, _h in score.COMPONENTS}
        assert a.value == sum(a.ranks[n] * weights[n] for n in weights) // 10_000
        assert sum(weights.values()) == 10_000

    def test_a_sole_eligible_node_with_data_ranks_top(self) -> None:
        (only,) = score.score_all([BASE._replace(uptime=9_500)], NOW)
        assert only.ranks["commission"] == 10_000 and only.ranks["uptime"] == 10_000 and only.ranks["compute"] == 0

    def test_scores_stay_in_range(self) -> None:
        import random

        rng = random.Random(4)
        nodes = [
            BASE._replace(
                commission=rng.randint(0, 10_000),
                uptime=rng.choice([None, rng.randint(0, 10_000)]),
                age=rng.randint(0, 10**7),
                compute=rng.choice([None, rng.randint(0, 10**9)]),
                active=rng.random() > 0.1,
            )
            for _ in range(300)
        ]
        for s in score.score_all(nodes, NOW):
            assert 0 <= s.value <= 10_000 and all(0 <= r <= 10_000 for r in s.ranks.values())


def test_description_names_every_component_with_its_weight() -> None:
    doc = score.describe()
    assert doc["version"] == score.VERSION
    assert [(c["name"], c["weight_bps"]) for c in doc["components"]] == [(n, w) for n, w, _h in score.COMPONENTS]
