"""One settlement worker at a time: the process holding this lock is the only one that signs and sends treasury
transactions and books what they did (payouts, refunds, burns, the watcher's passes).

A :mod:`backend.locks` database lock (an advisory lock on PostgreSQL, an ``flock`` beside the SQLite file), so
a crashed worker never leaves it behind. Waiting is bounded: a second worker waits up to ``timeout`` seconds,
then gets :class:`SettlementBusy`.
"""

from __future__ import annotations

from sqlalchemy import Engine

from backend.errors import AppError
from backend.locks import acquire_within, database_lock, name_key

LOCK_NAME = "iog-settlement-worker"


class SettlementBusy(AppError):
    """Another settlement worker holds the lock."""

    status_code = 409


class SettlementLock:
    """Exclusive right to run settlement work on one database."""

    def __init__(self, engine: Engine, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.key = name_key(LOCK_NAME)
        self._lock = database_lock(engine, "settlement", self.key)

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; :class:`SettlementBusy` when it stays taken."""
        if not acquire_within(self._lock, self.timeout):
            raise SettlementBusy("another settlement worker is running (it holds the settlement lock)")

    def release(self) -> None:
        """Give the lock back."""
        self._lock.release()

    def __enter__(self) -> SettlementLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
