"""Ledger benchmark: posting entries (entries/s) and ``ledger check`` over 1,000,000 postings, with baselines.

Prints two tables, on PostgreSQL (``--pg``) and SQLite:
1. Posting: ``ledger.post`` one entry per transaction (what a request or a booking of one movement does) and
   ``ledger.post_many`` in batches of 500 (what a settlement pass does), against the baseline of plain
   ``executemany`` INSERTs of the same rows into tables of the same shape without triggers, checks or foreign keys.
   Each entry is 3 postings (treasury, a buyer, fees), as a payment.
2. ``check`` (every entry balances, entries with < 2 postings, sums per kind, book treasury at a slot) over
   1,000,000 postings (500,000 two-posting entries), against the baseline of one sequential aggregate over the
   same table (``SELECT count(*), sum(amount) FROM ledger_postings``). The fill disables the triggers while it
   loads (the balance is enforced again for the check's reads) so the fill is not the thing measured.

Run: ``.venv/bin/python tests/bench/bench_ledger.py [--entries 5000] [--postings 1000000] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.chain.history import BalanceAt  # noqa: E402
from backend.chain.treasury import Currency, Treasury  # noqa: E402
from backend.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from backend.ledger import service as ledger  # noqa: E402
from backend.ledger.check import check  # noqa: E402

console = Console(width=150)


def fresh_db(kind: str, tmp: Path, pg_url: str | None) -> tuple[Engine, Any]:
    """A migrated empty database: a SQLite file or a new PostgreSQL schema."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / uuid.uuid4().hex[:8]}.db")
        migrate.upgrade(engine)
        return engine, engine.dispose
    assert pg_url
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    engine = make_engine(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    migrate.upgrade(engine)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return engine, drop


def spec(i: int) -> ledger.EntrySpec:
    amount = 1_000_000 + i
    fee = amount // 50
    return ledger.EntrySpec(
        f"payment:bench{i}:1",
        "payment",
        f"inv{i}",
        (
            ledger.debit(ledger.TREASURY, "IO", amount),
            ledger.credit(ledger.buyer(f"buyer{i % 100}"), "IO", amount - fee),
            ledger.credit(ledger.FEES, "IO", fee),
        ),
        chain=ledger.ChainLink(f"bench{i}", "1", i),
    )


def bench_post_one(engine: Engine, n: int) -> float:
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    for i in range(n):
        with session_scope(factory) as s:
            ledger.post(s, spec(i), 0)
    return time.perf_counter() - t0


def bench_post_many(engine: Engine, n: int, offset: int) -> float:
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    for start in range(0, n, 500):
        with session_scope(factory) as s:
            ledger.post_many(s, [spec(offset + i) for i in range(start, min(n, start + 500))], 0)
    return time.perf_counter() - t0


def bench_baseline(engine: Engine, n: int, per_tx: int) -> float:
    """Plain INSERTs of the same rows into constraint-free tables of the same shape."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE base_entries (id BIGINT, k VARCHAR(200), cause VARCHAR(32), cid VARCHAR(160),"
                          " sig VARCHAR(96), ix VARCHAR(16), slot BIGINT, created_at BIGINT)"))  # fmt: skip
        conn.execute(text("CREATE TABLE base_postings (entry_id BIGINT, seq INT, account_id INT, currency VARCHAR(8),"
                          " amount NUMERIC(20,0))"))  # fmt: skip
    t0 = time.perf_counter()
    for start in range(0, n, per_tx):
        entries, postings = [], []
        for i in range(start, min(n, start + per_tx)):
            sp = spec(i)
            eid = ledger.entry_id(sp.key)
            entries.append({"id": eid, "k": sp.key, "cause": sp.cause, "cid": sp.cause_id, "sig": f"b{i}", "ix": "1",
                            "slot": i, "c": 0})  # fmt: skip
            for seq, leg in enumerate(sp.legs):
                postings.append({"e": eid, "s": seq, "a": seq + 1, "c": leg.currency, "m": leg.amount})
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO base_postings VALUES (:e, :s, :a, :c, :m)"), postings)
            conn.execute(text("INSERT INTO base_entries VALUES (:id, :k, :cause, :cid, :sig, :ix, :slot, :c)"), entries)
    return time.perf_counter() - t0


def fill(engine: Engine, postings: int) -> float:
    """Load ``postings`` postings (two per entry) fast: triggers off during the load (PostgreSQL: DISABLE
    TRIGGER; SQLite: the triggers are dropped and re-created from the migration's DDL)."""
    with session_scope(make_sessionmaker(engine)) as s:
        acct = ledger.account_ids(s, [(ledger.TREASURY, "IO"), (ledger.buyer("bulk"), "IO")], 0)
    a, b = acct[(ledger.TREASURY, "IO")], acct[(ledger.buyer("bulk"), "IO")]
    pg = engine.dialect.name == "postgresql"
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE ledger_postings DISABLE TRIGGER USER"))
            conn.execute(
                text(f"""
                INSERT INTO ledger_postings (entry_id, seq, account_id, currency, amount)
                SELECT g, s, CASE s WHEN 0 THEN {a} ELSE {b} END, 'IO', CASE s WHEN 0 THEN 1000 ELSE -1000 END
                FROM generate_series(1, {postings // 2}) g, generate_series(0, 1) s""")
            )
            conn.execute(
                text(f"""
                INSERT INTO ledger_entries (id, idempotency_key, cause, cause_id, slot, created_at)
                SELECT g, 'bulk:' || g, 'deposit', 'bulk', g, 0 FROM generate_series(1, {postings // 2}) g""")
            )
            conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred foreign keys are checked here
            conn.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE ledger_postings ENABLE TRIGGER USER"))
        else:
            # The first statement must be an INSERT: pysqlite opens the transaction only then, and the postings'
            # foreign key to their entry is deferred to COMMIT only inside a transaction.
            conn.execute(text("INSERT INTO app_meta (key, value) VALUES ('bench', 'fill')"))
            names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))]
            ddl = [r[0] for r in conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'"))]
            for name in names:
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(
                text(f"""
                INSERT INTO ledger_postings (entry_id, seq, account_id, currency, amount)
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {postings // 2})
                SELECT n, s.s, CASE s.s WHEN 0 THEN {a} ELSE {b} END, 'IO', CASE s.s WHEN 0 THEN 1000 ELSE -1000 END
                FROM g, (SELECT 0 AS s UNION ALL SELECT 1) s""")
            )
            conn.execute(
                text(f"""
                INSERT INTO ledger_entries (id, idempotency_key, cause, cause_id, slot, created_at)
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {postings // 2})
                SELECT n, 'bulk:' || n, 'deposit', 'bulk', n, 0 FROM g""")
            )
            for sql in ddl:
                conn.execute(text(sql))
        if pg:
            conn.execute(text("ANALYZE ledger_postings"))
            conn.execute(text("ANALYZE ledger_entries"))
    return time.perf_counter() - t0


def bench_check(engine: Engine, postings: int) -> tuple[float, float, bool]:
    treasury = Treasury("owner", Path("/dev/null"), {"IO": Currency("IO", "mint", 8, "treasuryIO")})
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO indexer_cursors (address, last_slot, tx_count, synced_slot, updated_at) "
                 "VALUES ('treasuryIO', 0, 0, :s, 0)"),
            {"s": postings},
        )  # fmt: skip
    book = 1000 * (postings // 2)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    with session_scope(factory) as s:
        report = check(s, treasury, lambda account, slot: BalanceAt(book, slot, 0))
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*), sum(amount) FROM ledger_postings")).one()
    base = time.perf_counter() - t0
    return took, base, report.ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=5000, help="entries posted per posting row")
    ap.add_argument("--postings", type=int, default=1_000_000, help="postings the check reads")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test", help="PostgreSQL ('' skips)")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.pg else [])
    post = Table("database", "what", "entries", "seconds", "entries/s", "vs baseline")
    checks = Table("database", "what", "postings", "seconds", "vs baseline", "ok")
    for kind in kinds:
        n = args.entries
        engine, drop = fresh_db(kind, tmp, args.pg)
        try:
            base = bench_baseline(engine, n, 500)
            base1 = bench_baseline_one(engine, n // 5)
            one = bench_post_one(engine, n // 5)
            many = bench_post_many(engine, n, n)
        finally:
            drop()
        post.add_row(kind, "baseline: plain INSERTs, 1 entry per transaction", str(n // 5), f"{base1:.2f}",
                     f"{n // 5 / base1:,.0f}", "1.00")  # fmt: skip
        post.add_row(kind, "ledger.post, 1 entry per transaction", str(n // 5), f"{one:.2f}", f"{n // 5 / one:,.0f}",
                     f"{base1 / one:.2f}")  # fmt: skip
        post.add_row(kind, "baseline: plain INSERTs, 500 entries per transaction", str(n), f"{base:.2f}",
                     f"{n / base:,.0f}", "1.00")  # fmt: skip
        post.add_row(kind, "ledger.post_many, 500 entries per transaction", str(n), f"{many:.2f}", f"{n / many:,.0f}",
                     f"{base / many:.2f}")  # fmt: skip
        engine, drop = fresh_db(kind, tmp, args.pg)
        try:
            loaded = fill(engine, args.postings)
            took, base, ok = bench_check(engine, args.postings)
        finally:
            drop()
        checks.add_row(kind, f"fill (triggers off): {loaded:.1f}s; baseline: one aggregate scan", f"{args.postings:,}",
                       f"{base:.2f}", "1.00", "")  # fmt: skip
        checks.add_row(kind, "ledger check", f"{args.postings:,}", f"{took:.2f}", f"{took / base:.1f}x", str(ok))
    console.print(post)
    console.print(checks)


def bench_baseline_one(engine: Engine, n: int) -> float:
    """The baseline with one entry per transaction (the same tables as :func:`bench_baseline`)."""
    t0 = time.perf_counter()
    for i in range(n):
        sp = spec(10**7 + i)
        eid = ledger.entry_id(sp.key)
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO base_postings VALUES (:e, :s, :a, :c, :m)"),
                [{"e": eid, "s": q, "a": q + 1, "c": leg.currency, "m": leg.amount} for q, leg in enumerate(sp.legs)],
            )
            conn.execute(
                text("INSERT INTO base_entries VALUES (:id, :k, :cause, :cid, :sig, :ix, :slot, :c)"),
                {
                    "id": eid,
                    "k": sp.key,
                    "cause": sp.cause,
                    "cid": sp.cause_id,
                    "sig": f"o{i}",
                    "ix": "1",
                    "slot": i,
                    "c": 0,
                },  # fmt: skip
            )
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
