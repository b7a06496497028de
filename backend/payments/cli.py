"""``iog webhooks``: the webhook secret of an API key (for the service that receives the webhooks)."""

from __future__ import annotations

import time

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


@app.command("secret")
def secret_cmd(
    key_id: str = typer.Argument(..., help="The API key's id (key_...)"),
    rotate: bool = typer.Option(False, help="Replace the secret (undelivered events get signed with the new one)"),
) -> None:
    """Print the HMAC-SHA256 secret that signs the webhooks of invoices this API key creates."""
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.payments import webhooks

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        fn = webhooks.rotate if rotate else webhooks.secret_for
        print(fn(session, settings, key_id, int(time.time())))
