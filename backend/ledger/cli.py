"""``iog ledger``: check the books against the chain; show balances."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.table import Table

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


@app.command("check")
def check_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    wait: float = typer.Option(
        10.0,
        help="Seconds to wait while the only differences are pending ones (finalized transfers not booked yet, "
        "the indexer not caught up)",
    ),
) -> None:
    """Every entry balances; book treasury == treasury token account on chain at the indexer's finalized slot,
    per currency; treasury = liabilities + income + equity. Exit 1 naming each difference."""
    from backend.config import get_settings
    from backend.ledger.api import report_out
    from backend.ledger.runtime import run_check

    settings = get_settings()
    deadline = time.monotonic() + wait
    try:
        while True:
            report = run_check(settings)
            if report.ok or not report.transient or time.monotonic() >= deadline:
                break
            time.sleep(1.0)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report_out(report).model_dump(), indent=2))
    else:
        table = Table("currency", "slot / block", "book treasury", "chain treasury", "liabilities", "income", "equity")
        for c in report.currencies:
            table.add_row(
                c.currency,
                str(c.as_of_slot) if c.as_of_block is None else f"block {c.as_of_block}",
                str(c.book_treasury),
                str(c.chain_treasury),
                str(c.liabilities),
                str(c.income),
                str(c.equity),
            )
        console.print(table)
        console.print(f"{report.entries} entries, {report.postings} postings")
        for n in report.notes:
            console.print(f"note: {n}")
        for w in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")
        for d in report.differences:
            console.print(f"[red]difference:[/red] {d}")
        console.print("[green]ledger check passed[/green]" if report.ok else "[red]ledger check failed[/red]")
    raise typer.Exit(0 if report.ok else 1)


@app.command("balances")
def balances_cmd(
    prefix: str | None = typer.Option(None, help="Only accounts whose name starts with this (e.g. provider:)"),
) -> None:
    """Every account's balance (base units, on its normal side)."""
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.ledger import service

    engine = make_engine(get_settings().resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        rows = service.balances(session, prefix=prefix)
    table = Table("account", "currency", "kind", "balance")
    for b in rows:
        table.add_row(b.account, b.currency, b.kind, str(b.balance))
    console.print(table)
