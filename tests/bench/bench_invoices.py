"""Invoice detection latency: how long after a payment's confirmation its invoice shows ``seen``.

Everything runs as in ``make run``, each part in its own process: the embedded node (400 ms slots, 32 finality
slots by default), ``iog indexer run`` (its logsSubscribe stream writes confirmed transfers as pending rows),
``iog api`` and ``iog settlement watch``, on SQLite (``--pg URL`` for PostgreSQL). For each of N payments, one after
the other: create an invoice (orchestrator key), subscribe to logs mentioning its reference (commitment
confirmed), send the transfer from a demo wallet, take the notification's arrival as the confirmation, then poll
``GET /invoices/{id}`` every 10 ms until it says ``seen`` (or ``paid``).

Baselines measured in the same run: the chain's own confirmation (send -> confirmed notification) and the time the
indexer's pending row appears in the database (confirmation -> row). The target: median confirmation -> ``seen``
under 1 s.

Run: ``.venv/bin/python tests/bench/bench_invoices.py [--n 200] [--slot-ms 400] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from solders.hash import Hash  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from solders.message import Message  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from solders.transaction import Transaction  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.auth import service as auth_service  # noqa: E402
from backend.chain.settlement_setup import settlement_step  # noqa: E402
from backend.chain.tokens import io_account, memo_instruction, transfer_checked_ix  # noqa: E402
from backend.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from backend.models.indexer import IndexerCursor, TokenTransfer  # noqa: E402

console = Console(width=150)
IOG = [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


class Procs:
    """Child processes, stopped at the end."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir, self.procs = env, logdir, []  # type: ignore[var-annotated]

    def start(self, name: str, *args: str) -> subprocess.Popen[str]:
        log = (self.logdir / f"{name}.log").open("w")
        p = subprocess.Popen([*IOG, *args], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


async def measure(args: argparse.Namespace, ws_url: str, rpc_url: str, api: str, key: str, boot: dict[str, Any],
                  engine: Any) -> list[dict[str, float]]:  # fmt: skip
    wallets = [Keypair.from_json(Path(w["keypair_path"]).read_text()) for w in boot["wallets"]]
    mint = Pubkey.from_string(boot["mint"])
    treasury = Pubkey.from_string(boot["treasury"])
    out: list[dict[str, float]] = []
    async with httpx.AsyncClient(base_url=api, timeout=30) as http, websockets.connect(ws_url) as ws:
        rpc = httpx.AsyncClient(timeout=30)
        for i in range(args.n):
            payer = wallets[i % len(wallets)]
            r = await http.post(
                "/invoices",
                json={"amount": str(1_000 + i), "currency": "IO", "buyer": str(payer.pubkey())},
                headers={"Authorization": f"Bearer {key}"},
            )
            inv = r.json()
            params = [{"mentions": [inv["reference"]]}, {"commitment": "confirmed"}]
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "logsSubscribe", "params": params}))
            while True:  # the answer to this subscribe (skipping the previous unsubscribe's answer)
                ack = json.loads(await ws.recv())
                if ack.get("id") == i:
                    sub = ack["result"]
                    break
            call = {"jsonrpc": "2.0", "id": 1, "method": "getLatestBlockhash", "params": [{"commitment": "confirmed"}]}
            bh = (await rpc.post(rpc_url, json=call)).json()["result"]["value"]
            ixs = [
                memo_instruction(inv["id"]),
                transfer_checked_ix(
                    io_account(payer.pubkey(), mint),
                    mint,
                    treasury,
                    payer.pubkey(),
                    1_000 + i,
                    8,
                    [Pubkey.from_string(inv["reference"])],
                ),  # fmt: skip
            ]
            blockhash = Hash.from_string(bh["blockhash"])
            tx = Transaction([payer], Message.new_with_blockhash(ixs, payer.pubkey(), blockhash), blockhash)
            sig = str(tx.signatures[0])
            t_send = time.perf_counter()
            raw = base64.b64encode(bytes(tx)).decode()
            call = {"jsonrpc": "2.0", "id": 1, "method": "sendTransaction", "params": [raw, {"encoding": "base64"}]}
            await rpc.post(rpc_url, json=call)
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("method") == "logsNotification" and msg["params"]["subscription"] == sub:
                    break
            t_conf = time.perf_counter()
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 10**6 + i, "method": "logsUnsubscribe", "params": [sub]}))
            t_row = t_seen = None
            while t_seen is None:
                st = (await http.get(f"/invoices/{inv['id']}")).json()["status"]
                now = time.perf_counter()
                if t_row is None:
                    with engine.connect() as conn:
                        if conn.execute(select(TokenTransfer.signature).where(TokenTransfer.signature == sig)).first():
                            t_row = now
                if st in ("seen", "paid"):
                    t_seen = now
                    t_row = t_row or now
                    break
                if now - t_conf > 60:
                    raise RuntimeError(f"invoice {inv['id']} not seen 60 s after confirmation")
                await asyncio.sleep(0.01)
            out.append({"confirm": t_conf - t_send, "row": t_row - t_conf, "seen": t_seen - t_conf})
            if (i + 1) % 20 == 0:
                console.print(f"{i + 1}/{args.n}: median confirmation -> seen so far "
                              f"{statistics.median(x['seen'] for x in out) * 1000:.0f} ms")  # fmt: skip
        await rpc.aclose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="payments")
    ap.add_argument("--slot-ms", type=int, default=400)
    ap.add_argument("--finality-slots", type=int, default=32)
    ap.add_argument("--pg", default="", help="PostgreSQL URL (default: SQLite, as make run)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-invoices-"))
    rpc_port, ws_port, api_port = free_port(), free_port(), free_port()
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with make_engine(args.pg).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    else:
        db_url = f"sqlite:///{tmp / 'iog.db'}"
    env = {
        **os.environ,
        "IOG_DATA_DIR": str(tmp),
        "IOG_DATABASE_URL": db_url,
        "IOG_RPC_URL": f"http://127.0.0.1:{rpc_port}",
        "IOG_WS_URL": f"ws://127.0.0.1:{ws_port}",
        "IOG_API_PORT": str(api_port),
        "IOG_API_URI": f"http://127.0.0.1:{api_port}",
    }
    procs = Procs(env, tmp)
    try:
        procs.start("localnet", "localnet", "up", "--rpc-port", str(rpc_port), "--ws-port", str(ws_port),
                    "--slot-ms", str(args.slot_ms), "--finality-slots", str(args.finality_slots))  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(env["IOG_RPC_URL"], json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the node did not start"
                time.sleep(0.2)
        from tests.fixtures.localnet import run_bootstrap

        boot = run_bootstrap(env["IOG_RPC_URL"], tmp / "localnet.json", tmp / "keys", extra_steps=[settlement_step])
        env["IOG_BOOTSTRAP_FILE"] = str(tmp / "localnet.json")
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as s:
            key = auth_service.create_api_key(s, "orchestrator", "bench", int(time.time())).key
        procs.start("indexer", "indexer", "run")
        procs.start("api", "api")
        procs.start("watcher", "settlement", "watch")
        while True:  # the indexer's first pass written, the API answering
            with engine.connect() as conn:
                ready = conn.execute(
                    select(IndexerCursor.synced_slot).where(IndexerCursor.address == boot["treasury"])
                ).first()
            try:
                up = httpx.get(f"{env['IOG_API_URI']}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                up = False
            if ready and ready[0] and up:
                break
            assert time.monotonic() < deadline + 60, "the indexer or the API did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # the indexer's websocket subscribes right after its first pass
        rows = asyncio.run(measure(args, env["IOG_WS_URL"], env["IOG_RPC_URL"], env["IOG_API_URI"], key, boot, engine))
    finally:
        procs.stop()
    table = Table(
        "what",
        "n",
        "median ms",
        "p90 ms",
        "max ms",
        title=f"invoice detection ({'PostgreSQL' if args.pg else 'SQLite'}, {args.slot_ms} ms slots)",
    )
    for name, label in (("confirm", "baseline: send -> confirmed notification (the chain)"),
                        ("row", "baseline: confirmation -> indexer's pending row in the database"),
                        ("seen", "confirmation -> GET /invoices/{id} says seen")):  # fmt: skip
        values = [r[name] for r in rows]
        table.add_row(label, str(len(values)), f"{statistics.median(values) * 1000:.0f}",
                      f"{pct(values, 0.9) * 1000:.0f}", f"{max(values) * 1000:.0f}")  # fmt: skip
    console.print(table)
    median = statistics.median(r["seen"] for r in rows)
    console.print(f"target: median confirmation -> seen < 1000 ms: {'met' if median < 1 else 'MISSED'} "
                  f"({median * 1000:.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
