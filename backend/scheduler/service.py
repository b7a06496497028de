"""Run the registered jobs while this process is the leader; stand by otherwise.

APScheduler 3.11 (``BackgroundScheduler``), every job with ``coalesce=True`` (a backlog of missed runs is one
run), ``max_instances=1`` and no misfire limit (``misfire_grace_time=None``: a late run still runs, never
dropped). Jobs are idempotent through their own persisted state (the epochs job: each epoch's state machine),
so a run that a crash cut short is simply done again by the next leader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from backend.config import Settings
from backend.scheduler.leader import LeaderLock, leader_lock
from backend.scheduler.registry import Job

log = logging.getLogger("iog.scheduler")


def _guarded(job: Job, settings: Settings) -> Callable[[], None]:
    def run() -> None:
        try:
            job.func(settings)
        except Exception:  # logged; the next run retries (every job is idempotent)
            log.exception("job %s failed", job.name)

    return run


def run_scheduler(
    settings: Settings,
    jobs: Sequence[Job],
    stop: threading.Event,
    lock: LeaderLock | None = None,
    standby_poll: float = 1.0,
) -> None:
    """Until ``stop`` is set: take the leader lock when free and run ``jobs``; release it and stand by again if
    it is lost."""
    lock = lock or leader_lock(settings)
    announced = False
    while not stop.is_set():
        try:
            got = lock.acquire()
        except Exception as exc:  # the database is unreachable: stay standby and try again
            log.warning("cannot reach the leader lock: %s", exc)
            got = False
        if not got:
            if not announced:
                log.info("standby: another scheduler is the leader")
                announced = True
            stop.wait(standby_poll)
            continue
        announced = False
        log.info("leader: running %s", ", ".join(j.name for j in jobs))
        scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone="UTC"
        )
        for job in jobs:
            trigger = IntervalTrigger(seconds=job.interval(settings))
            # The first run is now, not one interval from now.
            scheduler.add_job(_guarded(job, settings), trigger, id=job.name, name=job.name, next_run_time=_now())
        scheduler.start()
        try:
            while not stop.is_set() and lock.held():
                stop.wait(standby_poll)
        finally:
            scheduler.shutdown(wait=True)
            lock.release()
        if not stop.is_set():
            log.warning("leadership lost; standing by")


def _now() -> datetime:
    return datetime.now(UTC)
