"""Leader election: one scheduler runs jobs, the others stand by.

The lock is a :mod:`backend.locks` process lock. PostgreSQL: an advisory lock whose key is derived from the
database and schema names, so every runner of one deployment asks for the same lock whatever URL it uses (its
connection has a pool of its own, so it is never handed to anything else). SQLite: an ``flock`` on a file next to
the database (or ``IOG_SCHEDULER_LOCK_FILE``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from backend.config import Settings
from backend.locks import AdvisoryLock, FileLock, ProcessLock, scoped_key

LeaderLock = ProcessLock


class PgAdvisoryLock(AdvisoryLock):
    """The scheduler's advisory lock, on a connection of its own."""

    def __init__(self, url: str) -> None:
        super().__init__(create_engine(url, poolclass=NullPool, pool_pre_ping=False), scoped_key("iog-scheduler"))


def leader_lock(settings: Settings) -> LeaderLock:
    """The lock of this deployment's database."""
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        return PgAdvisoryLock(url)
    if settings.scheduler_lock_file is not None:
        return FileLock(settings.scheduler_lock_file)
    database = make_url(url).database
    if not database or database == ":memory:":
        return FileLock(settings.data_dir / "scheduler.lock")
    return FileLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))


__all__ = ["FileLock", "LeaderLock", "PgAdvisoryLock", "leader_lock"]
