"""``iog apikey``: API keys for services (the job orchestrator, operations), stored hashed."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


def _session():  # noqa: ANN202
    from backend import migrate
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(get_settings().resolved_database_url)
    migrate.upgrade(engine)
    return session_scope(make_sessionmaker(engine))


@app.command("create")
def create(
    role: str = typer.Option(..., help="orchestrator (reports usage, opens invoices for buyers) or admin"),
    name: str = typer.Option(..., help="Who holds it, e.g. 'job-orchestrator-eu1'"),
) -> None:
    """Create an API key; the key is printed once (only its sha256 is stored)."""
    from backend.auth import service

    try:
        with _session() as session:
            k = service.create_api_key(session, role, name, int(time.time()))
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    console.print(f"created {k.id} (role {k.role}, {k.name}). The key, shown only now:")
    print(k.key)


@app.command("list")
def list_keys() -> None:
    """List API keys (ids, roles, names; never the keys)."""
    from backend.auth import service

    with _session() as session:
        rows = service.list_api_keys(session)
        table = Table("id", "role", "name", "created", "revoked")
        for r in rows:
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at))
            revoked = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.revoked_at)) if r.revoked_at else ""
            table.add_row(r.id, r.role, r.name, created, revoked)
    console.print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (key_...)")) -> None:
    """Revoke an API key: it is refused from then on."""
    from backend.auth import service

    with _session() as session:
        found = service.revoke_api_key(session, key_id, int(time.time()))
    if not found:
        console.print(f"[red]error:[/red] no API key {key_id}")
        raise typer.Exit(2)
    console.print(f"revoked {key_id}")
