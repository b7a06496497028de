"""Heartbeat benchmark: signed heartbeats verified and stored per second into PostgreSQL.

Prints one table, all measured in this run against the real API (uvicorn in a process of its own, access log
off) on a fresh PostgreSQL schema:
- batches of 100 heartbeats per request (what a gateway sends), several client threads;
- the baseline: one heartbeat per request (one request and one commit per heartbeat), same threads;
- the same batches through the service function alone (no HTTP, same threads), to show what HTTP costs;
- the latency of single heartbeats sent open loop at 200/s (p50/p99/max, from each send's scheduled time, so a
  slow answer is not hidden by waiting for it).

The last column is the CPU time of the API process (or of this process, for the service rows) per heartbeat:
what the machine's load does not change much. PostgreSQL's own CPU is not in it.

Every node is registered (registry record, node projection, NodeRegistered event), heartbeats are signed
before the clock starts (signing is the agents' work), each node sends one heartbeat per round with ts 10 s
apart. Target: >= 2,000 heartbeats/s, i.e. 100,000 nodes at one a minute with room.

Run: ``.venv/bin/python tests/bench/bench_telemetry.py [--nodes 10000] [--rounds 4] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.chain import ids, pdas  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.epochs.clock import EpochClock  # noqa: E402
from backend.models.indexer import ProgramEvent  # noqa: E402
from backend.models.nodes import NodeRecord  # noqa: E402
from backend.models.staking import StakingNode  # noqa: E402
from backend.telemetry.challenges import PuzzleVerifier  # noqa: E402
from backend.telemetry.heartbeats import sign  # noqa: E402
from backend.telemetry.recorder import HeartbeatRules, record_heartbeats  # noqa: E402

console = Console(width=150)
BATCH = 100


def fresh_schema(pg_url: str) -> tuple[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def register(url: str, n: int) -> list[Keypair]:
    """n registered nodes, written in bulk as the registry and the indexer would."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    keys = [Keypair() for _ in range(n)]
    pid = ids.default_program_id()
    records, nodes, events = [], [], []
    for kp in keys:
        key = str(kp.pubkey())
        node, op = str(pdas.node_pda(pid, kp.pubkey())[0]), str(Keypair().pubkey())
        records.append({"node_key": key, "node": node, "operator": op, "name": key[:8], "gpu_model": "A100",
                        "gpu_units": 8, "vram_gb": 80, "region": "eu", "description": None, "commission_bps": 500,
                        "status": "registered", "status_reason": None, "created_at": 0, "updated_at": 0,
                        "gpu_model_changed_at": None})  # fmt: skip
        nodes.append({"node": node, "operator": op, "commission_bps": 500, "pending_commission_bps": None,
                      "commission_effective_at": None, "active": True, "total_stake": 0, "total_shares": 0,
                      "unbonding_stake": 0, "unbonding_shares": 0, "slashed_total": 0, "last_slot": 1})  # fmt: skip
        events.append({"signature": f"reg-{node}", "ix_path": "1", "event_index": 0, "slot": 1, "block_time": 0,
                       "program_id": str(pid), "name": "NodeRegistered", "subject": node, "owner": op,
                       "fields": json.dumps({"gpuUnits": 8, "operator": op}), "raw": "", "error": None,
                       "status": "finalized"})  # fmt: skip
    with engine.begin() as conn:
        conn.execute(NodeRecord.__table__.insert(), records)
        conn.execute(StakingNode.__table__.insert(), nodes)
        conn.execute(ProgramEvent.__table__.insert(), events)
    engine.dispose()
    return keys


def signed_rounds(keys: list[Keypair], rounds: int, t0: int, seq0: int) -> list[list[dict[str, Any]]]:
    """``rounds`` lists of one heartbeat per node, ts 10 s apart."""
    out = []
    for r in range(rounds):
        out.append([
            sign(kp, {"node": str(kp.pubkey()), "seq": seq0 + r, "ts": t0 + 10 * r, "gpu_model": "A100",
                      "gpu_units": 8})
            for kp in keys
        ])  # fmt: skip
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(url: str, genesis: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "IOG_DATABASE_URL": url, "IOG_EPOCH_GENESIS": str(genesis)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory", "--no-access-log",
         "--log-level", "warning", "--port", str(port)],
        env=env, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the API did not start")


def post_all(base: str, bodies: list[list[dict[str, Any]]], threads: int) -> tuple[float, int]:
    """POST every body (a list of items) with ``threads`` clients; (seconds, accepted)."""
    accepted = 0
    lock = threading.Lock()
    local = threading.local()

    def send(items: list[dict[str, Any]]) -> None:
        nonlocal accepted
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=base, timeout=60)
        r = local.c.post("/telemetry/heartbeats", json={"heartbeats": items})
        r.raise_for_status()
        n = sum(1 for x in r.json()["results"] if x["status"] == "accepted")
        with lock:
            accepted += n

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - start, accepted


def latency_at(base: str, items: list[dict[str, Any]], rate: float) -> list[float]:
    """Open loop: item i is due at start + i / rate; latency from its due time to its answer (ms)."""
    lat: list[float] = []
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.5

    def send(i: int) -> None:
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=base, timeout=60)
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        r = local.c.post("/telemetry/heartbeats", json={"heartbeats": [items[i]]})
        done = time.perf_counter()
        assert r.json()["results"][0]["status"] == "accepted", r.text
        with lock:
            lat.append((done - due) * 1000)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(send, range(len(items))))
    return lat


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--baseline", type=int, default=3_000, help="heartbeats sent one per request")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--pg", default=os.environ.get("IOG_BENCH_DATABASE_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
    args = ap.parse_args()
    now = int(time.time())
    genesis = now - 3600 * 3 - now % 60  # inside a 1-hour epoch, on a minute
    rows = []

    # 1. batches of 100 over HTTP, then 2. the one-per-request baseline, on one schema.
    url, drop = fresh_schema(args.pg)
    try:
        keys = register(url, args.nodes)
        t0 = int(time.time()) - 60
        rounds = signed_rounds(keys, args.rounds + 1, t0, 1)
        proc, base = start_api(url, genesis)
        try:
            # round 0 warms up (first heartbeat of each node: inserts), then steady rounds (updates)
            for r, items in enumerate(rounds):
                bodies = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
                cpu0 = cpu_seconds(proc.pid)
                secs, ok = post_all(base, bodies, args.threads)
                assert ok == len(items), f"round {r}: {ok} of {len(items)} accepted"
                label = "first heartbeat of each node" if r == 0 else f"steady round {r}"
                rows.append((f"HTTP, batches of {BATCH}, {args.threads} clients ({label})", len(items), secs,
                             cpu_seconds(proc.pid) - cpu0))  # fmt: skip
            # baseline: later heartbeats of the first `baseline` nodes, one per request
            late = signed_rounds(keys[: args.baseline], 1, t0 + 10 * (args.rounds + 1), 100)[0]
            cpu0 = cpu_seconds(proc.pid)
            secs, ok = post_all(base, [[x] for x in late], args.threads)
            assert ok == len(late)
            rows.append((f"baseline: HTTP, 1 per request (1 commit each), {args.threads} clients", len(late), secs,
                         cpu_seconds(proc.pid) - cpu0))  # fmt: skip
            n = int(200 * args.latency_seconds)
            single = signed_rounds(keys[:n], 1, t0 + 10 * (args.rounds + 2), 200)[0]
            lat = latency_at(base, single, 200.0)
        finally:
            proc.terminate()
            proc.wait(15)
    finally:
        drop()

    # 3. the service alone (no HTTP): where the time goes without the web stack.
    url, drop = fresh_schema(args.pg)
    try:
        keys = register(url, args.nodes)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        rules = HeartbeatRules(EpochClock(genesis, 3600, 900), 120, 5, 5, 300, PuzzleVerifier(16), 300.0)
        t0 = int(time.time()) - 60
        for r, items in enumerate(signed_rounds(keys, 2, t0, 1)):

            def one(batch: list[dict[str, Any]]) -> None:
                with factory.begin() as s:
                    res = record_heartbeats(s, rules, batch, int(time.time()))
                    assert all(x["status"] == "accepted" for x in res)

            start, cpu0 = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(one, [items[i : i + BATCH] for i in range(0, len(items), BATCH)]))
            label = "first heartbeat of each node" if r == 0 else "steady"
            rows.append((f"service only, batches of {BATCH}, {args.threads} threads ({label})", len(items),
                         time.perf_counter() - start, time.process_time() - cpu0))  # fmt: skip
        engine.dispose()
    finally:
        drop()

    table = Table("case", "heartbeats", "seconds", "heartbeats/s", "API CPU µs/heartbeat")
    for name, n, secs, cpu in rows:
        table.add_row(name, f"{n:,}", f"{secs:.2f}", f"{n / secs:,.0f}", f"{cpu / n * 1e6:,.0f}")
    console.print(table)
    console.print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores shared with other work)")
    console.print(
        f"single heartbeats open loop at 200/s for {args.latency_seconds:g} s ({len(lat)} requests): "
        f"p50 {statistics.median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms"
    )


if __name__ == "__main__":
    main()
