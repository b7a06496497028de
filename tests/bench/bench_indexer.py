"""Indexer benchmark: backfill N payments from the embedded node and compare with a naive solana-py indexer.

Prints one table:
- naive baseline: solana-py, one getSignaturesForAddress page at a time, one getTransaction per signature,
  one ORM insert + commit per row (SQLite). Measured on the first ``--baseline`` signatures (default 2,000)
  and reported as a rate; running it over all 20,000 would take minutes and measure the same rate.
- the indexer end to end (RPC + decode + DB) on SQLite and on PostgreSQL;
- decode + load alone from recorded getTransaction responses (no network) on SQLite and PostgreSQL.

The node runs as ``iog localnet up`` in its own process (``--in-process`` puts it in this one).
Run: ``.venv/bin/python tests/bench/bench_indexer.py [--n 20000] [--baseline 2000] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.models.indexer import IndexedTransaction, TokenTransfer, TransferReference  # noqa: E402
from indexer.config import resolve  # noqa: E402
from indexer.decode import decode_transaction  # noqa: E402
from indexer.pipeline import Indexer, IndexerOptions  # noqa: E402
from indexer.rpc import RpcClient  # noqa: E402
from indexer.store import write_batch  # noqa: E402
from tests.indexer.chainload import Loader  # noqa: E402

console = Console()


def fresh_db(kind: str, tmp: Path, pg_url: str | None) -> tuple[Engine, Any]:
    """A migrated empty database: SQLite file or a new PostgreSQL schema."""
    if kind == "sqlite":
        path = tmp / f"{uuid.uuid4().hex[:8]}.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        return engine, lambda: engine.dispose()
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


def naive(rpc_url: str, treasury: str, ctx: Any, engine: Engine, limit: int) -> tuple[int, float]:
    """The baseline: solana-py, page by page, one getTransaction per signature, one insert+commit per row."""
    from solana.rpc.api import Client
    from solders.pubkey import Pubkey
    from solders.signature import Signature

    client = Client(rpc_url, commitment="finalized")
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    done = 0
    before = None
    while done < limit:
        page = client.get_signatures_for_address(Pubkey.from_string(treasury), before=before, limit=1000).value
        if not page:
            break
        for entry in page:
            if done >= limit:
                break
            sig = str(entry.signature)
            resp = client.get_transaction(
                Signature.from_string(sig), encoding="json", max_supported_transaction_version=0
            )
            d = decode_transaction(sig, json.loads(resp.to_json())["result"], ctx, "finalized")
            assert d is not None
            with factory() as s:
                s.add(IndexedTransaction(**d.tx))
                s.commit()
                for t in d.transfers:
                    s.add(TokenTransfer(**t))
                    s.commit()
                for r in d.references:
                    s.add(TransferReference(**r))
                    s.commit()
            done += 1
        before = page[-1].signature
    return done, time.perf_counter() - t0


def indexer_e2e(rpc_url: str, boot_file: Path, engine: Engine) -> tuple[int, float]:
    """The indexer: verified paging, batched concurrent getTransaction, bulk upserts."""
    cfg = resolve(Settings(bootstrap_file=boot_file, _env_file=None))  # type: ignore[call-arg]

    async def go() -> int:
        rpc = RpcClient(rpc_url, concurrency=4)
        ix = Indexer(engine, rpc, cfg.context(), cfg.addresses, IndexerOptions(batch_size=100, chunk_size=2000))
        try:
            return sum((await ix.backfill_all()).values())
        finally:
            await rpc.aclose()

    t0 = time.perf_counter()
    n = asyncio.run(go())
    return n, time.perf_counter() - t0


def record(rpc_url: str, sigs: list[str]) -> list[tuple[str, bytes]]:
    """Raw getTransaction responses (the bytes the indexer would receive)."""
    import httpx

    out = []
    with httpx.Client(timeout=60) as http:
        for i in range(0, len(sigs), 100):
            part = sigs[i : i + 100]
            body = [
                {
                    "jsonrpc": "2.0",
                    "id": j,
                    "method": "getTransaction",
                    "params": [
                        s,
                        {"encoding": "json", "commitment": "finalized", "maxSupportedTransactionVersion": 0},
                    ],
                }
                for j, s in enumerate(part)
            ]
            for s, item in zip(part, http.post(rpc_url, json=body).json(), strict=True):
                out.append((s, json.dumps(item["result"]).encode()))
    return out


def decode_load(recorded: list[tuple[str, bytes]], ctx: Any, engine: Engine) -> tuple[int, float]:
    """JSON parse + decode + bulk upsert in chunks of 2,000 with the cursor, no network.

    As in the indexer, chunk k+1 is decoded while chunk k is written (the writer thread waits on the DB).
    """
    from concurrent.futures import ThreadPoolExecutor

    def write(decoded: list[Any], cursor: dict[str, tuple[str, int]]) -> None:
        with engine.begin() as conn:
            write_batch(conn, [d for d in decoded if d], cursor)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for i in range(0, len(recorded), 2000):
            part = recorded[i : i + 2000]
            decoded = [decode_transaction(s, orjson.loads(b), ctx, "finalized") for s, b in part]
            if pending is not None:
                pending.result()
            pending = pool.submit(write, decoded, {"bench": (part[-1][0], i)})
        if pending is not None:
            pending.result()
    return len(recorded), time.perf_counter() - t0


class NodeProcess:
    """``iog localnet up`` in its own process (as in production the node is not in the indexer's process)."""

    def __init__(self, slot_ms: int, finality_slots: int) -> None:
        self.cmd = [
            str(Path(sys.executable).with_name("iog")),
            "localnet",
            "up",
            "--rpc-port",
            "0",
            "--ws-port",
            "0",
            "--slot-ms",
            str(slot_ms),
            "--finality-slots",
            str(finality_slots),
        ]
        self.rpc_url = self.ws_url = ""

    def __enter__(self) -> NodeProcess:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("JSON RPC URL:"):
                self.rpc_url = line.split(": ", 1)[1].strip()
            if line.startswith("WebSocket PubSub URL:"):
                self.ws_url = line.split(": ", 1)[1].strip()
                return self
        raise RuntimeError("localnet did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="payments to put on chain")
    ap.add_argument("--baseline", type=int, default=2000, help="signatures the naive baseline processes")
    ap.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test", help="PostgreSQL URL ('' skips)"
    )
    ap.add_argument("--in-process", action="store_true", help="run the node in this process (shares the GIL)")
    args = ap.parse_args()

    from localnet.node import LocalnetNode
    from tests.fixtures.localnet import run_bootstrap

    tmp = Path(tempfile.mkdtemp(prefix="bench-indexer-"))
    pg = args.pg or None
    if pg:
        try:
            make_engine(pg).connect().close()
        except Exception as exc:  # noqa: BLE001 - report and go on without PostgreSQL
            console.print(f"PostgreSQL not reachable ({exc}); skipping PostgreSQL rows")
            pg = None
    rows: list[tuple[str, int, float]] = []
    node_cm: Any = LocalnetNode(slot_ms=100, finality_slots=4) if args.in_process else NodeProcess(100, 4)
    with node_cm as node:
        boot_file = tmp / "localnet.json"
        boot = run_bootstrap(node.rpc_url, boot_file, tmp / "keys")
        loader = Loader(node.rpc_url, boot)
        t0 = time.perf_counter()
        sigs: list[str] = []
        with console.status("") as st:
            while len(sigs) < args.n:
                sigs += loader.send_batch(min(200, args.n - len(sigs)))
                st.update(f"sending payments: {len(sigs):,}/{args.n:,}")
            loader.wait_finalized(sigs[-200:])
        console.print(f"put {len(sigs):,} payments on chain in {time.perf_counter() - t0:.1f}s")
        ctx = resolve(Settings(bootstrap_file=boot_file, _env_file=None)).context()  # type: ignore[call-arg]

        # Recording first also warms the node's cache of rendered transactions, so every run below reads
        # from the node in the same state.
        recorded = record(node.rpc_url, [e["signature"] for e in loader.chain_signatures(boot["treasury"])])
        engine, drop = fresh_db("sqlite", tmp, None)
        n, s = naive(node.rpc_url, boot["treasury"], ctx, engine, args.baseline)
        drop()
        rows.append(("naive baseline (solana-py, 1 call + 1 commit per row), SQLite", n, s))
        for kind in ["sqlite"] + (["postgres"] if pg else []):
            engine, drop = fresh_db(kind, tmp, pg)
            n, s = indexer_e2e(node.rpc_url, boot_file, engine)
            drop()
            rows.append((f"indexer end to end, {kind}", n, s))
    for kind in ["sqlite"] + (["postgres"] if pg else []):
        engine, drop = fresh_db(kind, tmp, pg)
        n, s = decode_load(recorded, ctx, engine)
        drop()
        rows.append((f"decode + load from recorded responses, {kind}", n, s))

    base_rate = rows[0][1] / rows[0][2]
    table = Table("run", "transactions", "seconds", "tx/s", "x baseline", title="iog indexer backfill")
    for name, n, s in rows:
        table.add_row(name, f"{n:,}", f"{s:.2f}", f"{n / s:,.0f}", f"{(n / s) / base_rate:.1f}x")
    console.print(table)
    console.print("targets: end to end >= 10x baseline; decode + load >= 5,000 tx/s")


if __name__ == "__main__":
    main()
