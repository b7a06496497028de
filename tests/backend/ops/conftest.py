"""An API client on this test's fresh migrated database (SQLite, or PostgreSQL with IOG_TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.app import create_app
from backend.config import Settings


@pytest.fixture
def client(db_url: str, db_engine: Engine) -> Iterator[TestClient]:
    """The real app over HTTP-in-process, reading the same database the test writes through the ORM."""
    with TestClient(create_app(Settings(database_url=db_url))) as c:
        yield c
