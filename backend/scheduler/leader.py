"""Leader election: one scheduler runs jobs, the others stand by.

PostgreSQL: a session advisory lock held on a dedicated connection (``pg_try_advisory_lock``); it is released by
the server the moment that connection ends, so a leader that dies (even SIGKILLed) frees it at once. The key is
derived from the database and schema name, so every runner of one deployment asks for the same lock whatever
URL it uses. SQLite: an exclusive ``flock`` on a file next to the database, released by the OS when the process
ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from backend.config import Settings

log = logging.getLogger("iog.scheduler")


class LeaderLock(Protocol):
    """A lock only one process holds."""

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True when this process holds it."""

    def held(self) -> bool:
        """Whether this process still holds it (False once its connection is gone)."""

    def release(self) -> None:
        """Give it up (a no-op when not held)."""


class PgAdvisoryLock:
    """A session advisory lock on a connection of its own."""

    _KEY = text("SELECT hashtextextended('iog-scheduler/' || current_database() || '/' || current_schema(), 0)")

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool, pool_pre_ping=False)
        self.conn: Connection | None = None
        self.key: int | None = None

    def acquire(self) -> bool:
        if self.conn is not None:
            return self.held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            self.key = int(conn.execute(self._KEY).scalar_one())
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one())
        except Exception:
            conn.close()
            raise
        if got:
            self.conn = conn
        else:
            conn.close()
        return got

    def held(self) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # the connection is gone, and the lock with it
            log.warning("leader connection lost: %s", exc)
            self.conn = None
            return False

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        finally:
            self.conn.close()
            self.conn = None


class FileLock:
    """An exclusive ``flock`` on a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        if self.fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


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
