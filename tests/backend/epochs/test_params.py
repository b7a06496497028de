"""Versioned reward parameters: defaults in the IO decimals, validation, every change a new version."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.epochs import params
from backend.errors import InvalidInput


def test_defaults_until_a_version_is_stored_then_the_newest(db_session: Session) -> None:
    s = Settings(io_decimals=6)
    assert params.current(db_session, s) == (0, params.defaults(6))
    assert params.defaults(6)["min_stake_per_gpu"] == str(200 * 10**6)
    doc = {**params.defaults(6), "community_bps": 1_000}
    assert params.put(db_session, doc, 100, "more to grants") == 1
    assert params.put(db_session, {**doc, "gpu_multipliers_bps": {"B200": 40_000}}, 200) == 2
    assert params.current(db_session, s)[0] == 2
    assert params.get(db_session, s, 1)["community_bps"] == 1_000
    assert params.known_gpu_models(db_session, s) == ["B200"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"community_bps": 10_001}, "community_bps"),
        ({"min_stake_per_gpu": "-1"}, "min_stake_per_gpu"),
        ({"gpu_multipliers_bps": {"A100": 2**32}}, "A100"),
        ({"emission": "5"}, "emission"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_sets_are_refused_naming_the_field(db_session: Session, change: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        params.put(db_session, {**params.defaults(8), **change}, 1)
    assert params.current(db_session, Settings())[0] == 0
