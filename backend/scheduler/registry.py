"""The jobs the scheduler leader runs. Each domain exposes idempotent job functions in its ``tasks.py``; they
are listed here (``register_job``), so adding one is one line in :func:`default_jobs`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.config import Settings


@dataclass(frozen=True)
class Job:
    """A job: ``func(settings)`` every ``seconds`` (a number, a function of the settings, or None:
    ``IOG_SCHEDULER_TICK_SECONDS``)."""

    name: str
    func: Callable[[Settings], object]
    seconds: float | Callable[[Settings], float] | None = None
    description: str = ""

    def interval(self, settings: Settings) -> float:
        """Seconds between two runs under ``settings``."""
        if callable(self.seconds):
            return self.seconds(settings)
        return self.seconds or settings.scheduler_tick_seconds


JOBS: dict[str, Job] = {}


def register_job(job: Job) -> Job:
    """Add (or replace) a job."""
    JOBS[job.name] = job
    return job


def default_jobs() -> list[Job]:
    """Every job of the deployment (imports the domains' tasks modules)."""
    from backend.epochs.tasks import epochs_pass
    from backend.governance.tasks import governance_pass
    from backend.nodes.tasks import nodes_pass
    from backend.settlement.tasks import run_burn, run_payouts

    register_job(
        Job("epochs", epochs_pass, description="Close frozen epochs, post the newest root, mark finalized ones")
    )
    register_job(
        Job(
            "payouts",
            run_payouts,
            seconds=lambda s: s.payout_interval_seconds,
            description="Pay provider balances above the threshold from the treasury (exactly once)",
        )
    )
    register_job(
        Job(
            "burn",
            run_burn,
            seconds=lambda s: s.epoch_seconds,
            description="Burn the epoch's share of IO fee income (at most once per epoch)",
        )
    )
    register_job(
        Job(
            "nodes",
            nodes_pass,
            seconds=lambda s: s.nodes_refresh_seconds,
            description="Registry statuses from the indexed chain, and the marketplace's node_stats",
        )
    )
    register_job(
        Job(
            "governance",
            governance_pass,
            seconds=lambda s: s.governance_poll_seconds,
            description="Close ended votes, record outcome memos, pay succeeded grants after the hold-up time",
        )
    )
    return list(JOBS.values())
