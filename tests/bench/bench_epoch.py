"""Epoch close benchmark: 100,000 nodes and 1,000,000 stake entries in PostgreSQL, closed by the runner.

Steps timed (posting excluded): build the input from the database (registry, node projection, NodeRegistered
events, stake positions, uptime rows, challenges, usage), store it (canonical bytes, hash), run the engine
(validation, rules, tree, output document), store the output and the 100,000 per-node rows, commit.
Baseline in the same run: reading the 1,000,000 stake entries as ORM objects (what a straightforward
``session.scalars(select(StakePosition))`` does) against the tuples the input builder reads.

The data is written with COPY into a fresh schema (not timed): 10 stake entries per node (the operator's own
and 9 delegations from a pool of wallets, so ~68 % of the owners are distinct), every node up for the whole
epoch and verified, a usage record per node. Target: <= 60 s for the whole close.

Run: ``.venv/bin/python tests/bench/bench_epoch.py [--nodes 100000] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import random
import resource
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.epochs import params as param_sets  # noqa: E402
from backend.epochs import sources  # noqa: E402
from backend.epochs.clock import EpochClock  # noqa: E402
from backend.epochs.runner import EpochRunner  # noqa: E402
from backend.models.epochs import Epoch  # noqa: E402
from backend.models.staking import StakePosition  # noqa: E402

console = Console(width=150)
STAKES_PER_NODE = 10
G = 1_800_000_000
EPOCH_SECONDS = 3600


def fresh_schema(pg_url: str) -> tuple[str, object]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return f"{pg_url}{sep}options=-csearch_path%3D{schema}", drop


def keys(n: int, rnd: random.Random) -> list[str]:
    return [str(Pubkey(rnd.randbytes(32))) for _ in range(n)]


def copy(conn: object, table: str, columns: list[str], rows: object) -> None:
    """COPY rows (tuples; None is NULL) into a table."""
    buf = io.StringIO()
    for row in rows:  # type: ignore[attr-defined]
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
    buf.seek(0)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
        while chunk := buf.read(1 << 20):
            cp.write(chunk)


def populate(url: str, n: int, seed: int = 7) -> int:
    """Write the network; returns the number of stake entries."""
    rnd = random.Random(seed)
    node_keys, nodes, operators = keys(n, rnd), keys(n, rnd), keys(n, rnd)
    pool = keys(int(n * STAKES_PER_NODE * 0.8), rnd)
    engine = make_engine(url)
    migrate.upgrade(engine)
    start, end = G, G + EPOCH_SECONDS
    full = (2**60 - 1).to_bytes(8, "little").hex()
    entries = 0
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        copy(conn, "node_records", ["node_key", "node", "operator", "name", "gpu_model", "gpu_units", "vram_gb",
             "region", "commission_bps", "status", "created_at", "updated_at"],
             ((k, nd, op, f"n{i}", "A100" if i % 3 else "H100", 1 + i % 8, 80, "eu", 500, "registered", 0, 0)
              for i, (k, nd, op) in enumerate(zip(node_keys, nodes, operators, strict=True))))  # fmt: skip
        copy(conn, "staking_nodes", ["node", "operator", "commission_bps", "active", "total_stake", "total_shares",
             "unbonding_stake", "unbonding_shares", "slashed_total", "last_slot"],
             ((nd, op, 500 + i % 1000, "t", 0, 0, 0, 0, 0, 1) for i, (nd, op) in enumerate(zip(nodes, operators,
              strict=True))))  # fmt: skip
        copy(conn, "program_events", ["signature", "ix_path", "event_index", "slot", "block_time", "program_id",
             "name", "subject", "owner", "fields", "raw", "status"],
             ((f"reg{i}", "1", 0, 1, 0, "p", "NodeRegistered", nd, op, f'{{"gpuUnits": {1 + i % 8}}}', "", "finalized")
              for i, (nd, op) in enumerate(zip(nodes, operators, strict=True))))  # fmt: skip
        rows = []
        for i, (nd, op) in enumerate(zip(nodes, operators, strict=True)):
            units = 1 + i % 8
            rows.append((nd, op, 0, 0, 200 * 10**8 * units + rnd.randint(0, 10**12), 0, 0, 1))
            for owner in rnd.sample(pool, STAKES_PER_NODE - 1):
                rows.append((nd, owner, 0, 0, rnd.randint(1, 10**13), 0, 0, 1))
        entries = len(rows)
        copy(conn, "stake_positions", ["node", "owner", "shares", "unbonding_shares", "bonded", "unbonding",
             "withdrawn", "last_slot"], rows)  # fmt: skip
        del rows
        copy(conn, "epoch_uptime", ["node_key", "epoch", "minutes", "up_minutes", "last_minute", "streak_minutes"],
             ((k, 0, "\\\\x" + full, 60, 59, 600) for k in node_keys))  # fmt: skip
        copy(conn, "challenges", ["id", "node_key", "epoch", "issue_at", "status", "verifier"],
             ((f"c{i}", k, 0, start, "passed", "sha256-puzzle/1") for i, k in enumerate(node_keys)))  # fmt: skip
        copy(conn, "usage_records", ["job_id", "period_start", "period_end", "node", "gpu_seconds", "recorded_at",
             "source"], ((f"j{i}", start + i % 3000, start + 3600, k, rnd.randint(0, 3600 * 8), end, "k")
                         for i, k in enumerate(node_keys)))  # fmt: skip
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as c:
        c.execute(text("ANALYZE"))
    engine.dispose()
    return entries


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--pg", default=os.environ.get("IOG_BENCH_DATABASE_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
    args = ap.parse_args()
    url, drop = fresh_schema(args.pg)
    try:
        t = time.perf_counter()
        entries = populate(url, args.nodes)
        console.print(f"populated {args.nodes:,} nodes, {entries:,} stake entries in {time.perf_counter() - t:.1f} s")
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        settings = Settings(database_url=url, epoch_genesis=G, _env_file=None)  # type: ignore[call-arg]
        with factory.begin() as s:
            param_sets.put(s, {**param_sets.defaults(8), "min_continuous_uptime_seconds": 3600}, 0, "bench")
            s.add(Epoch(epoch=0, state="open", start_time=G, end_time=G + EPOCH_SECONDS, post_attempts=0,
                        updated_at=G))  # fmt: skip
        # Baseline: the stake entries as ORM objects, then as the tuples the builder reads.
        gc.collect()
        t = time.perf_counter()
        with factory() as s:
            objs = s.scalars(select(StakePosition)).all()
            orm_n = len(objs)
            del objs
        orm_secs = time.perf_counter() - t
        gc.collect()
        t = time.perf_counter()
        with factory() as s:
            tup_n = sum(map(len, sources.stake_entries(s).values()))
        tup_secs = time.perf_counter() - t
        gc.collect()

        runner = EpochRunner(factory, settings, EpochClock(G, EPOCH_SECONDS, 900), None, 8, None)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        runner.close(0, G + EPOCH_SECONDS + 900, timings)
        total = time.perf_counter() - t
        with factory() as s:
            row = s.get(Epoch, 0)
            assert row is not None and row.state == "computed", row and row.state
            eligible, n_nodes = row.eligible_nodes, row.nodes
            sizes = s.execute(text("SELECT length(input), length(output) FROM epoch_documents")).one()
            node_rows = s.execute(text("SELECT count(*) FROM epoch_nodes")).scalar()
        engine.dispose()
    finally:
        drop()
    table = Table("step", "seconds")
    for name in ("build_input", "store_input", "engine", "store_output"):
        table.add_row(name, f"{timings.get(name, 0):.2f}")
    table.add_row("commits and the rest", f"{total - sum(timings.values()):.2f}")
    table.add_row("[bold]close (total)[/]", f"[bold]{total:.2f}[/]")
    console.print(table)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    console.print(
        f"{n_nodes:,} nodes ({eligible:,} eligible), {tup_n:,} stake entries; input {sizes[0] / 1e6:.0f} MB, output "
        f"{sizes[1] / 1e6:.0f} MB, {node_rows:,} node rows; peak RSS {rss:.2f} GB"
    )
    console.print(
        f"baseline, reading the stake entries: ORM objects {orm_secs:.2f} s ({orm_n:,}) vs tuples {tup_secs:.2f} s"
    )
    console.print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared with other work); target <= 60 s")


if __name__ == "__main__":
    main()
