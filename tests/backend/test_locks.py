"""Database locks (backend.locks): one holder per deployment; two deployments never share a lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.db import make_engine
from backend.locks import database_lock
from tests.fixtures.db import TEST_DATABASE_URL, fresh_database_url


def test_a_lock_has_one_holder_per_database_and_each_database_its_own(tmp_path: Path) -> None:
    """On PostgreSQL the two databases are two schemas of one database (advisory locks are cluster-wide, so the
    key is scoped to the schema); on SQLite two files."""
    (url_a, drop_a), (url_b, drop_b) = fresh_database_url(tmp_path / "a"), fresh_database_url(tmp_path / "b")
    if not TEST_DATABASE_URL:
        (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    engines = [make_engine(url_a), make_engine(url_b)]
    held = []
    try:
        first_a, second_a = database_lock(engines[0], "settlement"), database_lock(engines[0], "settlement")
        first_b = database_lock(engines[1], "settlement")
        held = [first_a, second_a, first_b]
        assert first_a.acquire()
        assert not second_a.acquire()  # the same deployment: taken
        assert first_b.acquire()  # another deployment: its own lock
        first_a.release()
        assert second_a.acquire()  # free again once released
    finally:
        for lock in held:
            lock.release()
        for e in engines:
            e.dispose()
        drop_a(), drop_b()  # type: ignore[operator,func-returns-value]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="advisory keys exist on PostgreSQL only")
def test_the_advisory_key_depends_on_the_schema(tmp_path: Path) -> None:
    (url_a, drop_a), (url_b, drop_b) = fresh_database_url(tmp_path), fresh_database_url(tmp_path)
    engines = [make_engine(url_a), make_engine(url_b)]
    locks = [database_lock(e, "indexer-x", 42) for e in engines]
    try:
        assert all(lock.acquire() for lock in locks)
        keys = [getattr(lock, "key", None) for lock in locks]
        assert None not in keys and keys[0] != keys[1] and 42 not in keys
    finally:
        for lock in locks:
            lock.release()
        for e in engines:
            e.dispose()
        drop_a(), drop_b()  # type: ignore[operator,func-returns-value]
