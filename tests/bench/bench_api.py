"""Marketplace API benchmark: 100,000 nodes in PostgreSQL, 50 concurrent clients, mixed sorts, filters and pages.

Prints one table with requests/s, p50, p99 and max latency of:
- ``GET /marketplace/nodes`` served from ``node_stats`` (this issue's design: one indexed keyset query per page);
- the baseline, measured in the same run on the same data and server: the same listing computed per request from
  the raw tables (projections, events, registry: ``backend.nodes.tasks.compute_rows`` then filter, sort and page
  in Python), i.e. what serving the marketplace without ``node_stats`` costs. It is too slow to load for as long,
  so it runs a fixed number of requests (``--baseline-requests``), by the same 50 clients and by one client alone.
Also: the time of ``refresh_node_stats`` over the 100,000 nodes (first run: every row written; second: none).

The API runs in its own process (uvicorn, ``--workers``), the clients (httpx, asyncio) in this one; both share the
machine's cores. The epoch runner's figures (uptime, compute, APY) do not exist yet: the bench fills them with
synthetic values through ``backend.nodes.tasks.node_performance`` so that the uptime and APY sorts and the
min_uptime filter select something (a stand-in, said here and nowhere else).

Run: ``.venv/bin/python tests/bench/bench_api.py [--nodes 100000] [--clients 50] [--seconds 20] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import Query, Request  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from backend.deps import SessionDep  # noqa: E402
from backend.nodes import market, tasks  # noqa: E402
from backend.nodes.performance import Performance  # noqa: E402
from backend.nodes.schemas import MarketPage  # noqa: E402
from tests.backend.nodes import rows as R  # noqa: E402

console = Console(width=150)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = 1_800_000_000


def synthetic_performance(_session: Any, node_keys: Any, _now: int) -> dict[str, Performance]:
    """Stand-in for the epoch runner's figures (bench only): deterministic per node key."""
    out = {}
    for k in node_keys:
        h = zlib.crc32(k.encode())
        if h % 5 == 0:
            continue  # no history
        up = 8_000 + h % 2_001
        out[k] = Performance(up, up, up, (h >> 8) % 600_000, (h >> 4) % 10**12, (h >> 12) % 2_500)
    return out


# --- server mode ----------------------------------------------------------------------------------------------


def serve(db_url: str, port: int, workers: int) -> None:
    """The API plus the baseline route, under uvicorn (run by the bench in a child process)."""
    import uvicorn

    os.environ["IOG_DATABASE_URL"] = db_url
    os.environ["IOG_PROGRAM_ID"] = R.PROGRAM
    uvicorn.run(
        "tests.bench.bench_api:make_app", factory=True, host="127.0.0.1", port=port, workers=workers,
        log_level="warning", app_dir=str(ROOT),
    )  # fmt: skip


def make_app() -> Any:
    """The real app, and ``GET /bench/raw-marketplace``: the listing computed from the raw tables per request."""
    from backend.app import create_app

    tasks.node_performance = synthetic_performance  # type: ignore[assignment]
    app = create_app(Settings())  # type: ignore[call-arg]

    @app.get("/bench/raw-marketplace", response_model=MarketPage)
    def raw(
        request: Request,
        session: SessionDep,
        sort: str = "score",
        gpu_model: str | None = None,
        region: str | None = None,
        min_uptime_bps: int | None = None,
        max_commission_bps: int | None = None,
        has_capacity: bool | None = None,
        limit: int = Query(50),
        cursor: str | None = None,
    ) -> MarketPage:
        rows = tasks.compute_rows(session, request.app.state.settings, NOW)
        if gpu_model:
            rows = [r for r in rows if r["gpu_model"] == gpu_model]
        if region:
            rows = [r for r in rows if r["region"] == region]
        if min_uptime_bps is not None:
            rows = [r for r in rows if r["uptime_key"] >= min_uptime_bps]
        if max_commission_bps is not None:
            rows = [r for r in rows if r["commission_key"] <= max_commission_bps]
        if has_capacity is not None:
            rows = [r for r in rows if (r["capacity_left"] > 0) == has_capacity]
        key_name, desc = market.SORTS[sort][0].key, market.SORTS[sort][1]
        rows.sort(key=lambda r: (r[key_name], r["node"]), reverse=desc)
        start = 0
        if cursor:
            key, node = market.decode_cursor(cursor, sort)
            after = (lambda r: (r[key_name], r["node"]) < (key, node)) if desc else (
                lambda r: (r[key_name], r["node"]) > (key, node))  # fmt: skip
            start = next((i for i, r in enumerate(rows) if after(r)), len(rows))
        page = rows[start : start + limit]
        nxt = None
        if len(rows) > start + limit:
            nxt = market.encode_cursor(sort, int(page[-1][key_name]), page[-1]["node"])
        epoch = market.epoch_seconds(request.app.state.settings)
        return MarketPage.model_validate(
            {"items": [market.item(r, epoch, NOW) for r in page], "next_cursor": nxt, "sort": sort,
             "score_version": 1, "as_of_slot": None, "refreshed_at": None}
        )  # fmt: skip

    return app


# --- load -------------------------------------------------------------------------------------------------------


def random_query(rng: random.Random) -> dict[str, Any]:
    q: dict[str, Any] = {"sort": rng.choice(["score", "estimated_apy", "commission", "capacity", "stake", "uptime"])}
    if rng.random() < 0.3:
        q["gpu_model"] = rng.choice(R.GPU_MODELS)
    if rng.random() < 0.3:
        q["region"] = rng.choice(R.REGIONS)
    if rng.random() < 0.3:
        q["max_commission_bps"] = rng.choice([500, 1_000, 2_000])
    if rng.random() < 0.3:
        q["has_capacity"] = "true"
    if rng.random() < 0.2:
        q["min_uptime_bps"] = rng.choice([9_000, 9_500, 9_900])
    return q


async def load(url: str, path: str, clients: int, seconds: float | None, total: int | None) -> dict[str, Any]:
    """Closed-loop clients: each sends its next request when its last one answered; 30% follow the cursor."""
    latencies: list[float] = []
    errors = 0
    done = 0
    stop_at = time.monotonic() + seconds if seconds else None

    async def client(i: int) -> None:
        nonlocal errors, done
        rng = random.Random(i)
        cursor_q: dict[str, Any] | None = None
        async with httpx.AsyncClient(base_url=url, timeout=600) as http:
            while True:
                if stop_at is not None and time.monotonic() >= stop_at:
                    return
                if total is not None:
                    if done >= total:
                        return
                    done += 1
                q = cursor_q if cursor_q and rng.random() < 0.3 else random_query(rng)
                t = time.perf_counter()
                r = await http.get(path, params=q)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1
                    cursor_q = None
                    continue
                nxt = r.json().get("next_cursor")
                cursor_q = {**{k: v for k, v in q.items() if k != "cursor"}, "cursor": nxt} if nxt else None

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "max": latencies[-1] * 1000,
        "errors": errors,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def measured(url: str, path: str, clients: int, seconds: float | None, total: int | None, server: int) -> dict:
    """:func:`load`, plus the CPU the server and this client spent per request."""
    s0, c0 = cpu_seconds(server), time.process_time()
    out = asyncio.run(load(url, path, clients, seconds, total))
    n = max(1, out["requests"])
    out["server_cpu"] = (cpu_seconds(server) - s0) / n * 1000
    out["client_cpu"] = (time.process_time() - c0) / n * 1000
    return out


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--baseline-requests", type=int, default=50)
    ap.add_argument("--pg", default=os.environ.get("IOG_BENCH_DATABASE_URL", PG))
    ap.add_argument("--serve", nargs=2, metavar=("DB_URL", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.workers)
        return

    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    server = None
    try:
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        factory = make_sessionmaker(engine)
        t = time.perf_counter()
        rows = R.synthetic(args.nodes, seed=11)
        with session_scope(factory) as s:
            R.write(s, rows, synced_slot=1_000)
        console.print(
            f"{args.nodes:,} nodes, {len(rows['positions']):,} positions, {len(rows['events']):,} events, "
            f"{len(rows['records']):,} registry records written in {time.perf_counter() - t:.1f} s"
        )
        tasks.node_performance = synthetic_performance  # type: ignore[assignment]
        settings = Settings(database_url=db_url, program_id=R.PROGRAM, _env_file=None)  # type: ignore[call-arg]
        refresh = []
        for _ in range(2):
            t = time.perf_counter()
            with session_scope(factory) as s:
                res = tasks.refresh_node_stats(s, settings, NOW)
            refresh.append((time.perf_counter() - t, res))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", db_url, str(port), "--workers", str(args.workers)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_up(url)
        asyncio.run(load(url, "/marketplace/nodes", args.clients, 3, None))  # warm-up
        pid = server.pid
        stats = measured(url, "/marketplace/nodes", args.clients, args.seconds, None, pid)
        alone = measured(url, "/marketplace/nodes", 1, min(args.seconds, 10), None, pid)
        base_one = measured(url, "/bench/raw-marketplace", 1, None, 5, pid)
        base_many = measured(url, "/bench/raw-marketplace", args.clients, None, args.baseline_requests, pid)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(30)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    table = Table(title=f"GET /marketplace/nodes, {args.nodes:,} nodes on PostgreSQL, uvicorn x{args.workers}")
    cols = ("listing", "clients", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU ms/req",
            "client CPU ms/req")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="right" if col != "listing" else "left")
    for name, clients, s in (
        ("node_stats (keyset, indexed)", args.clients, stats),
        ("node_stats (keyset, indexed)", 1, alone),
        ("baseline: from raw tables", 1, base_one),
        ("baseline: from raw tables", args.clients, base_many),
    ):
        table.add_row(name, str(clients), f"{s['requests']:,}", f"{s['rps']:,.1f}", f"{s['p50']:,.1f}",
                      f"{s['p99']:,.1f}", f"{s['max']:,.1f}", str(s["errors"]), f"{s['server_cpu']:.2f}",
                      f"{s['client_cpu']:.2f}")  # fmt: skip
    console.print(table)
    for i, (seconds, res) in enumerate(refresh):
        console.print(f"refresh_node_stats run {i + 1}: {seconds:.1f} s ({res.inserted:,} inserted, "
                      f"{res.updated:,} updated, {res.deleted:,} deleted)")  # fmt: skip
    console.print(f"p99 target < 100 ms: {'met' if stats['p99'] < 100 else 'MISSED'} ({stats['p99']:.1f} ms)")
    load1, load5, _ = os.getloadavg()
    console.print(f"machine: {os.cpu_count()} cores, load average {load1:.1f} (1 min), {load5:.1f} (5 min) at the end")


if __name__ == "__main__":
    main()
