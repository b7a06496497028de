"""``iog settlement``: the settlement worker's jobs, one pass each (the scheduler runs the same functions)."""

from __future__ import annotations

import json
import logging
import signal

import typer
from rich.console import Console

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


def _print(result: object) -> None:
    print(json.dumps(result.as_dict(), indent=2))  # type: ignore[attr-defined]


@app.command("payouts")
def payouts_cmd(
    wait: float = typer.Option(
        0.0, help="Seconds to wait for in-flight payouts, pending check differences and the new payouts to finalize"
    ),
    fault: str | None = typer.Option(
        None, hidden=True, help="Fault injection for tests: kill-after-send | kill-before-send"
    ),
) -> None:
    """Pay every provider balance at or above its threshold from the treasury (after a passing ledger check).

    Exit 1 when the ledger check blocks the payouts."""
    from backend.config import get_settings
    from backend.settlement.tasks import run_payouts

    try:
        result = run_payouts(get_settings(), fault=fault, wait=wait)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    _print(result)
    raise typer.Exit(1 if result.blocked else 0)


@app.command("burn")
def burn_cmd(
    epoch: int | None = typer.Option(None, help="The epoch to burn for (default: the current one)"),
    wait: float = typer.Option(0.0, help="Seconds to wait for the burn to be booked at finalized"),
) -> None:
    """Burn the epoch's share of IO fee income from the treasury (once per epoch)."""
    from backend.config import get_settings
    from backend.settlement.tasks import run_burn

    try:
        result = run_burn(get_settings(), epoch=epoch, wait=wait)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    _print(result)


@app.command("pass")
def pass_cmd(
    fault: str | None = typer.Option(None, hidden=True, help="Fault injection for tests: kill-before-send"),
) -> None:
    """One pass: book what the chain did, charge usage, send recorded refunds, deliver due webhooks."""
    from backend.config import get_settings
    from backend.settlement.tasks import run_pass

    try:
        result = run_pass(get_settings(), fault=fault)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    _print(result)


@app.command("watch")
def watch_cmd() -> None:
    """Run passes continuously (IOG_SETTLEMENT_POLL_SECONDS apart) until Ctrl-C or SIGTERM."""
    from backend.config import get_settings
    from backend.settlement.tasks import watch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = {"now": False}

    def _stop(_sig: int, _frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        watch(get_settings(), stop=lambda: stopping["now"])
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
