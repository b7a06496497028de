"""Migrations are all or nothing: a first setup killed (SIGKILL) at any statement leaves a database that the
next start migrates normally; a database left torn by an older iog is refused with what to do, no traceback."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text

from backend import migrate
from backend.db import make_engine
from tests.fixtures.db import TEST_DATABASE_URL, fresh_database_url

IOG = str(Path(sys.executable).with_name("iog"))


def _count_statements(engine: Engine) -> list[int]:
    """A counter of the statements the engine sends to the driver's cursor (shared list: [count])."""
    seen = [0]

    @event.listens_for(engine, "after_cursor_execute")
    def _count(*_args: Any) -> None:
        seen[0] += 1

    return seen


def _migrate_then_die(url: str, kill_after: int) -> None:
    """Child process: migrate, SIGKILL itself right after the driver executed statement number ``kill_after``."""
    engine = make_engine(url)
    seen = [0]

    @event.listens_for(engine, "after_cursor_execute")
    def _kill(*_args: Any) -> None:
        seen[0] += 1
        if seen[0] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    migrate.upgrade(engine)
    os._exit(0)  # not killed: the whole migration ran (never reached here when kill_after is in range)


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _objects(engine: Engine) -> set[str]:
    """Every schema object in the test's database: tables, indexes, sequences, views, types (PostgreSQL: of the
    test's own schema), so a kill that left anything at all shows up."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
        else:
            rows = conn.execute(
                text(
                    "SELECT 'relation', relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                    "UNION ALL SELECT 'type', typname FROM pg_type WHERE typnamespace = current_schema()::regnamespace"
                )
            )
        return {f"{kind} {name}" for kind, name in rows}


@pytest.fixture
def head() -> str:
    script = migrate.alembic_config()
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory.from_config(script).get_current_head()
    assert rev is not None
    return rev


class TestKilledFirstSetup:
    def test_a_kill_after_any_statement_leaves_nothing_or_everything(self, tmp_path: Path, head: str) -> None:
        url, drop = fresh_database_url(tmp_path / "count")
        engine = make_engine(url)
        seen = _count_statements(engine)
        migrate.upgrade(engine)
        statements = seen[0]
        full = _tables(engine)
        assert len(_objects(engine)) > len(full) > 20  # the check below sees tables and their indexes
        engine.dispose()
        drop()  # type: ignore[operator]
        assert statements > 20 and "alembic_version" in full  # the hook sees the migration's DDL

        fork = multiprocessing.get_context("fork")
        outcomes: dict[str, int] = {}
        # The next start is run after a spread of the kills (on SQLite after every one): once a kill is shown to
        # leave no object at all, the next start meets the same empty database whichever statement it was.
        restart = set(range(1, statements + 1)) if not TEST_DATABASE_URL else {1, 2, statements // 2, statements}
        for n in range(1, statements + 1):
            url, drop = fresh_database_url(tmp_path / f"k{n}")
            try:
                child = fork.Process(target=_migrate_then_die, args=(url, n))
                child.start()
                child.join(120)
                assert child.exitcode == -signal.SIGKILL, f"statement {n}: child ended with {child.exitcode}"
                engine = make_engine(url)
                left = _objects(engine)
                # Atomic: the kill left the database empty, never a part of the schema.
                assert left == set(), f"killed after statement {n} of {statements}, left: {sorted(left)}"
                outcomes["empty"] = outcomes.get("empty", 0) + 1
                if n in restart:
                    migrate.upgrade(engine)  # the next start
                    assert migrate.current(engine) == head and _tables(engine) == full
                engine.dispose()
            finally:
                drop()  # type: ignore[operator]
        assert outcomes == {"empty": statements}

    def test_a_kill_after_the_commit_keeps_the_whole_schema(self, tmp_path: Path, head: str) -> None:
        url, drop = fresh_database_url(tmp_path)
        try:
            child = multiprocessing.get_context("fork").Process(target=_migrate_then_die, args=(url, 10**9))
            child.start()
            child.join(120)
            assert child.exitcode == 0
            engine = make_engine(url)
            assert migrate.current(engine) == head
            engine.dispose()
        finally:
            drop()  # type: ignore[operator]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "x.db"


def _iog(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "250",
        "IOG_DATABASE_URL": f"sqlite:///{db}",
        "IOG_BOOTSTRAP_FILE": str(db.parent / "missing.json"),
        "IOG_INDEXER_ADDRESSES": "11111111111111111111111111111111",
        "IOG_RPC_URL": "http://127.0.0.1:9",
        "IOG_INDEXER_MAX_RETRIES": "0",
        "IOG_INDEXER_RPC_TIMEOUT": "0.5",
    }
    return subprocess.run([IOG, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="a torn SQLite file is what older versions left behind")
class TestTornDatabase:
    """What an older iog (one DDL statement per commit on SQLite) left behind after a kill."""

    def _torn(self, db: Path, version: str | None, tables: list[str]) -> None:
        engine = make_engine(f"sqlite:///{db}")
        with engine.begin() as conn:
            if version is not None:
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": version})
            for t in tables:
                conn.execute(text(f"CREATE TABLE {t} (x INTEGER)"))
        engine.dispose()

    @pytest.mark.parametrize("command", [["db", "upgrade"], ["indexer", "backfill", "--quiet"], ["indexer", "status"]])
    def test_tables_without_a_version_say_what_to_do(self, db_file: Path, command: list[str]) -> None:
        self._torn(db_file, None, ["app_meta"])
        r = _iog(db_file, *command)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "Traceback" not in out, out
        assert "SchemaError" in out and "no schema version" in out and f"rm -f {db_file}" in out

    def test_tables_ahead_of_their_version_say_what_to_do(self, db_file: Path) -> None:
        self._torn(db_file, "0001", ["app_meta", "indexed_transactions"])  # 0002 died after its first table
        r = _iog(db_file, "db", "upgrade")
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "Traceback" not in out, out
        assert "already exists" in out and "nothing was changed" in out and f"rm -f {db_file}" in out
        engine = make_engine(f"sqlite:///{db_file}")
        assert _tables(engine) == {"alembic_version", "app_meta", "indexed_transactions"}  # untouched
        engine.dispose()

    def test_a_revision_from_a_newer_iog_is_named(self, db_file: Path) -> None:
        self._torn(db_file, "9999", ["app_meta"])
        r = _iog(db_file, "db", "upgrade")
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "Traceback" not in out and "9999" in out and "newer iog" in out, out

    def test_a_database_locked_by_another_process_is_a_clear_error(self, db_file: Path, head: str) -> None:
        engine = make_engine(f"sqlite:///{db_file}", connect_args={"timeout": 0.2})
        migrate.upgrade(engine)
        engine.dispose()
        holder = sqlite3.connect(db_file, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
        try:
            with pytest.raises(migrate.SchemaError, match="locked by another process; nothing was changed"):
                migrate.upgrade(engine)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        migrate.upgrade(engine)
        assert migrate.current(engine) == head

    def test_after_the_remedy_a_start_succeeds(self, db_file: Path, head: str) -> None:
        self._torn(db_file, None, ["app_meta"])
        assert _iog(db_file, "db", "upgrade").returncode != 0
        for p in db_file.parent.glob(db_file.name + "*"):
            p.unlink()
        r = _iog(db_file, "db", "upgrade")
        assert r.returncode == 0 and head in r.stdout, r.stdout + r.stderr
