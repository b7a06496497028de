"""Database locks (backend.locks): one holder per deployment; two deployments never share a lock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from backend.db import make_engine
from backend.locks import ProcessLock, database_lock
from tests.fixtures.db import TEST_DATABASE_URL, fresh_database_url


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two empty databases: two schemas of one PostgreSQL database, or two SQLite files."""
    made = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        made.append(fresh_database_url(tmp_path / name))
    engines = [make_engine(url) for url, _ in made]
    yield engines[0], engines[1]
    for engine, (_, drop) in zip(engines, made, strict=True):
        engine.dispose()
        drop()  # type: ignore[operator]


@pytest.fixture
def locks() -> Iterator[list[ProcessLock]]:
    """The locks a test takes, released at its end."""
    taken: list[ProcessLock] = []
    yield taken
    for lock in taken:
        lock.release()


def test_a_lock_has_one_holder_per_database_and_each_database_its_own(
    two_databases: tuple[Engine, Engine], locks: list[ProcessLock]
) -> None:
    """On PostgreSQL advisory locks are cluster-wide, so the key is scoped to the schema."""
    a, b = two_databases
    first_a, second_a, first_b = (database_lock(e, "settlement") for e in (a, a, b))
    locks += [first_a, second_a, first_b]
    assert first_a.acquire()
    assert not second_a.acquire()  # the same deployment: taken
    assert first_b.acquire()  # another deployment: its own lock
    first_a.release()
    assert second_a.acquire()  # free again once released


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="advisory keys exist on PostgreSQL only")
def test_the_advisory_key_depends_on_the_schema(two_databases: tuple[Engine, Engine], locks: list[ProcessLock]) -> None:
    locks += [database_lock(e, "indexer-x", 42) for e in two_databases]
    assert all(lock.acquire() for lock in locks)
    keys = [getattr(lock, "key", None) for lock in locks]
    assert None not in keys and keys[0] != keys[1] and 42 not in keys
