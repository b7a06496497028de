"""``iog db``: schema migrations."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest) on IOG_DATABASE_URL (default: SQLite in .iog/)."""
    from backend import migrate
    from backend.config import get_settings
    from backend.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine, revision)
    except migrate.SchemaError as exc:
        typer.echo(f"error: SchemaError: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database at revision {migrate.current(engine)}: {engine.url.render_as_string(hide_password=True)}")


@app.command("current")
def current() -> None:
    """Print the revision the database is at."""
    from backend import migrate
    from backend.config import get_settings
    from backend.db import make_engine

    typer.echo(migrate.current(make_engine(get_settings().resolved_database_url)) or "(empty database)")
