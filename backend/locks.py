"""Process locks: the one way a process claims exclusive work on a database (the scheduler's leadership, the
settlement worker, an indexer's address set).

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on a dedicated connection; the server drops
it the moment that connection ends, so a process that dies (even SIGKILLed) frees it at once. SQLite: an
exclusive ``flock`` on a file beside the database, released by the kernel when the process ends. An in-memory
SQLite database belongs to one process, which needs no lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("iog.locks")


class ProcessLock(Protocol):
    """A lock only one process holds."""

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True when this process holds it."""

    def held(self) -> bool:
        """Whether this process still holds it (False once its connection is gone)."""

    def release(self) -> None:
        """Give it up (a no-op when not held)."""


def name_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own.

    ``key`` is the lock's number, or a function that computes it on the lock's connection (the scheduler derives
    it from the database and schema names so every runner of a deployment asks for the same one).
    """

    def __init__(self, engine: Engine, key: int | Callable[[Connection], int]) -> None:
        self.engine = engine
        self._key = key
        self.key: int | None = key if isinstance(key, int) else None
        self.conn: Connection | None = None

    def acquire(self) -> bool:
        if self.conn is not None:
            return self.held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            self.key = self._key if isinstance(self._key, int) else self._key(conn)
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
            log.warning("lock connection lost: %s", exc)
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
    """An exclusive ``flock`` on a file (which records the holder's pid, for people who look)."""

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


class NoLock:
    """For an in-memory database: one process owns it, so it is always held."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


_SCOPED = text("SELECT hashtextextended(:label || '/' || current_database() || '/' || current_schema(), 0)")


def scoped_key(label: str) -> Callable[[Connection], int]:
    """The advisory key of ``label`` in the lock connection's database and schema: advisory locks are shared by a
    whole PostgreSQL cluster, so two deployments (two schemas of one database, as the tests run in parallel) must
    not ask for the same number."""

    def key(conn: Connection) -> int:
        return int(conn.execute(_SCOPED, {"label": label}).scalar_one())

    return key


def database_lock(engine: Engine, name: str, key: int | None = None) -> ProcessLock:
    """The lock called ``name`` on ``engine``'s database: an advisory lock (``key``, default from the name, scoped
    to the connection's database and schema) on PostgreSQL, the file ``<database>.<name>.lock`` on SQLite."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, scoped_key(str(name_key(name) if key is None else key)))
    db = engine.url.database
    if not db or db == ":memory:":
        return NoLock()
    return FileLock(Path(f"{db}.{name}.lock"))


def acquire_within(lock: ProcessLock, timeout: float, poll: float = 0.1) -> bool:
    """Try to take ``lock`` until ``timeout`` seconds have passed; True when taken."""
    deadline = time.monotonic() + timeout
    while not lock.acquire():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
