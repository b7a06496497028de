"""Run Alembic migrations programmatically (used by ``iog db upgrade``, ``iog run``, the indexer and the tests).

An upgrade is one database transaction on every backend, so a process killed in the middle (SIGKILL, power
loss) leaves the database exactly as it was before. PostgreSQL has transactional DDL natively. On SQLite the
schema changes are transactional too, but Python's ``sqlite3`` driver opens transactions only before
INSERT/UPDATE/DELETE, so each ``CREATE TABLE`` would run (and commit) on its own: :func:`upgrade` switches the
driver's own transaction handling off for the migration and issues ``BEGIN IMMEDIATE`` itself (the recipe
SQLAlchemy documents for pysqlite; IMMEDIATE also makes a second process that migrates at the same moment wait
for the first instead of failing halfway).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from backend.errors import AppError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


class SchemaError(AppError):
    """The database cannot be brought to the code's schema; the message says what to do."""

    status_code = 500


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _remedy(engine: Engine) -> str:
    """What a person can do about a database whose schema is not one of ours."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        db = engine.url.database
        return (
            f"if it holds nothing you need (e.g. a first start that was interrupted), delete it "
            f"(rm -f {db} {db}-wal {db}-shm) and start again; otherwise restore it from a backup"
        )
    return "if it holds nothing you need, drop its tables (or the schema) and start again; otherwise restore it"


@contextmanager
def _atomic(conn: Connection) -> Iterator[None]:
    """One transaction around everything run on ``conn``, DDL included (see the module docstring)."""
    if conn.dialect.name != "sqlite":
        with conn.begin():
            yield
        return
    dbapi = conn.connection.driver_connection
    saved = dbapi.isolation_level  # type: ignore[union-attr]
    dbapi.isolation_level = None  # type: ignore[union-attr]  # the driver no longer BEGINs/COMMITs on its own
    try:
        with conn.begin():  # pysqlite's do_begin emits nothing; the BEGIN below is the real one
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield
    finally:
        dbapi.isolation_level = saved  # type: ignore[union-attr]  # the pooled connection goes back as it came


def _check_versioned(conn: Connection, engine: Engine) -> str | None:
    """The database's revision; refuses a database that has tables but no schema version (a torn first setup
    of an older iog, or a database that is not iog's: migrating it would fail on its first ``CREATE TABLE``)."""
    version = current_in(conn)
    if version is not None:
        return version
    others = sorted(set(inspect(conn).get_table_names()) - {VERSION_TABLE})
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise SchemaError(
            f"the database at {_where(engine)} has tables ({shown}) but no schema version: its first setup was "
            f"interrupted (an older iog migrated SQLite one statement at a time) or it is not an iog "
            f"database. It cannot be migrated safely: {_remedy(engine)}."
        )
    return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` in one transaction (all or nothing).

    Raises:
        SchemaError: the database has tables but no version, or a migration failed on it (nothing changed).
    """
    cfg = alembic_config()
    before: str | None = None
    try:
        with engine.connect() as conn, _atomic(conn):
            before = _check_versioned(conn, engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except CommandError as exc:  # e.g. a revision this iog does not know (written by a newer one)
        raise SchemaError(
            f"cannot migrate the database at {_where(engine)} (at revision {before or '(none)'}) to "
            f"{revision}: {exc}. A database migrated by a newer iog needs that iog."
        ) from None
    except DBAPIError as exc:
        if engine.dialect.name == "sqlite" and "locked" in str(exc.orig):
            raise SchemaError(
                f"the database at {_where(engine)} stayed locked by another process; nothing was changed: "
                f"try again when it is done"
            ) from exc
        raise SchemaError(
            f"migrating the database at {_where(engine)} failed, nothing was changed: "
            f"{str(exc.orig).strip() or type(exc.orig).__name__}. Its tables do not match its schema version "
            f"{before or '(none)'}: {_remedy(engine)}."
        ) from exc


def current_in(conn: Connection) -> str | None:
    """The revision recorded through ``conn`` (None before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    with engine.connect() as conn:
        return current_in(conn)
