"""``iog scheduler``: run the scheduled jobs (one leader among any number of runners), list them."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


@app.command("run")
def run_cmd(
    tick: float = typer.Option(None, help="Seconds between passes of each job (default IOG_SCHEDULER_TICK_SECONDS)"),
) -> None:
    """Run the jobs while this process holds the leader lock; stand by (and take over) otherwise. Ctrl-C stops.

    PostgreSQL: a session advisory lock on a dedicated connection; SQLite: a file lock next to the database.
    """
    import logging
    import signal
    import threading

    from backend.config import get_settings
    from backend.scheduler.registry import default_jobs
    from backend.scheduler.service import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings = get_settings()
    if tick:
        settings = settings.model_copy(update={"scheduler_tick_seconds": tick})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_scheduler(settings, default_jobs(), stop)


@app.command("jobs")
def jobs_cmd() -> None:
    """List the registered jobs."""
    from backend.config import get_settings
    from backend.scheduler.registry import default_jobs

    table = Table("job", "every (s)", "what")
    for job in default_jobs():
        table.add_row(job.name, f"{job.interval(get_settings()):g}", job.description)
    console.print(table)
