"""Projection benchmark: the cost per event of keeping the staking projections during a long backfill.

A random but valid history of the staking program (``tests/indexer/eventgen.py``: stakes, unstakes with unbonding
entries, withdraws, slashes, claims, roots over a few busy nodes) is written in chunks of ``--chunk`` events, as
the indexer writes one chunk of transactions per database transaction. Two ways of keeping the projections, both
measured in this run on the same events:

- incremental (``indexer.projections.apply_events``): the new events are applied on top of the stored rows;
- replay per chunk (the approach before): each node a chunk touches is recomputed from all of its events so far
  (``indexer.projections._replay_node`` in place of the incremental step: the same arithmetic and rows), so a
  chunk costs the node's whole history.

Printed: projection time per event over the whole backfill and over its first and last tenth (a cost that grows
with the history shows there), for each approach, on SQLite and (``--pg URL``) PostgreSQL. Both end with the same
rows (checked). Run: ``.venv/bin/python tests/bench/bench_projections.py [--events 30000] [--chunk 1000] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Connection, Engine  # noqa: E402

from indexer import projections  # noqa: E402
from indexer.projections import apply_events  # noqa: E402
from indexer.store import EVENTS  # noqa: E402
from tests.bench.bench_indexer import fresh_db  # noqa: E402
from tests.indexer.eventgen import history  # noqa: E402
from tests.indexer.projection_rows import projection_rows  # noqa: E402

console = Console(width=120)


def incremental(conn: Connection, chunk: list[dict[str, Any]]) -> None:
    apply_events(conn, chunk)


def replay_per_chunk(conn: Connection, chunk: list[dict[str, Any]]) -> None:
    """The approach before: every node of the chunk is recomputed from all of its events so far (claims, roots and
    the projected flags as in the incremental path)."""

    def replay(conn: Connection, node: str, new: object) -> None:
        projections._replay_node(conn, node)

    with patch.object(projections, "_project_node", replay):
        apply_events(conn, chunk)


Project = Callable[[Connection, list[dict[str, Any]]], None]


def run(engine: Engine, events: list[dict[str, Any]], chunk: int, project: Project) -> tuple[list[float], Any]:
    """Write the events chunk by chunk; returns the projection seconds of each chunk and the final rows."""
    times = []
    for i in range(0, len(events), chunk):
        part = events[i : i + chunk]
        with engine.begin() as conn:
            conn.execute(EVENTS.insert(), part)
            t0 = time.perf_counter()
            project(conn, part)
            times.append(time.perf_counter() - t0)
    with engine.connect() as conn:
        return times, projection_rows(conn)


def per_event_us(times: list[float], chunk: int) -> tuple[float, float, float]:
    """Microseconds per event: whole run, first tenth of the chunks, last tenth."""
    tenth = max(1, len(times) // 10)
    return (
        sum(times) / (len(times) * chunk) * 1e6,
        sum(times[:tenth]) / (tenth * chunk) * 1e6,
        sum(times[-tenth:]) / (tenth * chunk) * 1e6,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--owners", type=int, default=60)
    ap.add_argument("--pg", help="PostgreSQL URL (a schema is created and dropped)")
    args = ap.parse_args()
    events = history(20261127, args.events, nodes=args.nodes, owners=args.owners)
    events = events[: args.events - args.events % args.chunk or None]
    table = Table(
        title=f"projection cost per event: {len(events):,} events, chunks of {args.chunk:,}, "
        f"{args.nodes} nodes, {args.owners} wallets"
    )
    for col in ("database", "approach", "total s", "µs/event", "first 10%", "last 10%"):
        table.add_column(col, justify="right" if col not in ("database", "approach") else "left")
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results = {}
            for name, fn in (("replay per chunk (before)", replay_per_chunk), ("incremental", incremental)):
                engine, drop = fresh_db(kind, Path(tmp), args.pg)
                try:
                    times, rows = run(engine, events, args.chunk, fn)
                finally:
                    drop()
                results[name] = rows
                avg, first, last = per_event_us(times, args.chunk)
                table.add_row(kind, name, f"{sum(times):.2f}", f"{avg:,.0f}", f"{first:,.0f}", f"{last:,.0f}")
            same = len({repr(r) for r in results.values()}) == 1
            table.add_row(kind, "same rows", "yes" if same else "NO", "", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
