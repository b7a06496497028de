"""``iog nodes``: run the nodes domain's jobs by hand (the scheduler runs the same functions)."""

from __future__ import annotations

import signal
import time

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


def run_once() -> str:
    """One pass: registry statuses, then node_stats; returns a one-line summary."""
    from backend import migrate
    from backend.config import get_settings
    from backend.db import make_engine
    from backend.nodes.tasks import nodes_pass

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return nodes_pass(settings)


@app.command("refresh-stats")
def refresh_stats(
    every: float | None = typer.Option(
        None, help="Repeat every this many seconds until stopped (default: one pass; see IOG_NODES_REFRESH_SECONDS)"
    ),
) -> None:
    """Bring registry statuses and the marketplace's node_stats up to date from the indexed chain state."""
    from backend.errors import AppError

    stop = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    if every is not None:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        started = time.monotonic()
        try:
            summary = run_once()
            if every is None:
                console.print(summary)
        except AppError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            if every is None:
                raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - a repeating job survives a failed pass (logged)
            if every is None:
                raise
            console.print(f"[red]pass failed:[/red] {type(exc).__name__}: {exc}")
        if every is None:
            return
        while not stop and time.monotonic() - started < every:
            time.sleep(min(0.5, every))
        if stop:
            return
