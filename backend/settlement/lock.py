"""One settlement worker at a time: the process holding this lock is the only one that signs and sends treasury
transactions and books what they did (payouts, refunds, burns, the watcher's passes).

PostgreSQL: a session-level advisory lock on a dedicated connection; SQLite: an ``flock`` on a file beside the
database. Both die with the process (SIGKILL included), so a crashed worker never leaves the lock behind. Waiting is
bounded: a second worker waits up to ``timeout`` seconds, then gets :class:`SettlementBusy`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from backend.errors import AppError

LOCK_NAME = "iog-settlement-worker"


class SettlementBusy(AppError):
    """Another settlement worker holds the lock."""

    status_code = 409


class SettlementLock:
    """Exclusive right to run settlement work on one database."""

    def __init__(self, engine: Engine, timeout: float = 30.0) -> None:
        self.engine = engine
        self.timeout = timeout
        self.key = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)
        self._conn: Connection | None = None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; :class:`SettlementBusy` when it stays taken."""
        deadline = time.monotonic() + self.timeout
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            while True:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one()
                conn.commit()
                if got:
                    self._conn = conn
                    return
                if time.monotonic() >= deadline:
                    conn.close()
                    raise SettlementBusy("another settlement worker is running (PostgreSQL advisory lock)")
                time.sleep(0.1)
        db = self.engine.url.database
        if not db or db == ":memory:":
            return
        path = Path(f"{db}.settlement.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise SettlementBusy(f"another settlement worker is running ({path})") from None
                time.sleep(0.1)
                continue
            self._fd = fd
            return

    def release(self) -> None:
        """Give the lock back."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SettlementLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
