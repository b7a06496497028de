from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.backend.governance.helpers import World, make_world


@pytest.fixture
def world(db_url: str, db_engine: Engine) -> Iterator[World]:
    yield from make_world(db_url, db_engine)
