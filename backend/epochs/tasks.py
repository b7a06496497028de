"""Scheduled job of the epochs domain: one idempotent pass (close frozen epochs, post, finalize)."""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_sessionmaker
from backend.epochs.runner import EpochRunner, TickReport, make_runner

log = logging.getLogger("iog.epochs")


@lru_cache(maxsize=4)
def _factory(url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(url))


_runners: dict[int, tuple[Settings, EpochRunner]] = {}


def _runner(settings: Settings) -> EpochRunner:
    # One runner per settings object (the scheduler passes the same one every time); Settings is not hashable.
    found = _runners.get(id(settings))
    if found is None or found[0] is not settings:
        found = settings, make_runner(settings, _factory(settings.resolved_database_url))
        _runners[id(settings)] = found
    return found[1]


def epochs_pass(settings: Settings, now: int | None = None) -> TickReport:
    """Close every frozen epoch in order, post the newest computed one, mark finalized ones."""
    report = _runner(settings).tick(int(time.time()) if now is None else now)
    if report.closed or report.posted is not None or report.finalized:
        log.info("epochs pass: closed %s, posted %s, finalized %s", report.closed, report.posted, report.finalized)
    return report
