"""One settlement worker at a time (SQLite file lock or PostgreSQL advisory lock)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from backend.settlement.lock import SettlementBusy, SettlementLock


def test_a_second_worker_waits_then_is_refused_and_gets_the_lock_once_it_is_free(db_engine: Engine) -> None:
    with SettlementLock(db_engine):
        with pytest.raises(SettlementBusy):
            SettlementLock(db_engine, timeout=0.3).acquire()
    with SettlementLock(db_engine, timeout=0.3) as again:
        assert again is not None
