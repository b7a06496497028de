"""The jobs the scheduler leader runs. Each domain exposes idempotent job functions in its ``tasks.py``; they
are listed here (``register_job``), so adding one is one line in :func:`default_jobs`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.config import Settings


@dataclass(frozen=True)
class Job:
    """A job: ``func(settings)`` every ``seconds`` (None: ``IOG_SCHEDULER_TICK_SECONDS``)."""

    name: str
    func: Callable[[Settings], object]
    seconds: float | None = None
    description: str = ""


JOBS: dict[str, Job] = {}


def register_job(job: Job) -> Job:
    """Add (or replace) a job."""
    JOBS[job.name] = job
    return job


def default_jobs() -> list[Job]:
    """Every job of the deployment (imports the domains' tasks modules)."""
    from backend.epochs.tasks import epochs_pass

    register_job(
        Job("epochs", epochs_pass, description="Close frozen epochs, post the newest root, mark finalized ones")
    )
    return list(JOBS.values())
