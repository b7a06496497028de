"""Benchmark of the embedded localnet node; prints a table against its in-process baseline.

    .venv/bin/python tests/bench/bench_localnet.py [--txs 4000] [--clients 8]

Rows:
1. LiteSVM in-process: pre-signed IO payments (transfer_checked + reference key + memo) straight into LiteSVM:
   the limit on this machine (the baseline).
2. Bank in-process: the same through the node's Bank (ledger, indexes, snapshots) without HTTP.
3. HTTP sendTransaction, 8 concurrent keep-alive clients, against `iog localnet up` in its own process.
4. The same against a node with ``--ledger``: every answer that changed state is committed to the ledger file
   before it is sent (what makes a ``kill -9`` lose nothing a client saw).
5. The same as 3, each transaction confirmed (``confirmed``) through a signatureSubscribe notification.
6. getTransaction over HTTP in JSON-RPC batches of 100 (json encoding), first and second pass.
Targets: row 3 >= 40% of row 1; row 6 >= 5,000 getTransaction/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import MemoParams, create_memo
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import TransferCheckedParams, transfer_checked

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from localnet.bank import Bank  # noqa: E402
from localnet.svm import make_svm  # noqa: E402
from tests.fixtures.localnet import run_bootstrap  # noqa: E402

console = Console()


def payment(
    payer: Keypair, src: Pubkey, mint: Pubkey, dst: Pubkey, i: int, decimals: int, bh: Hash
) -> Transaction:
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=src,
            mint=mint,
            dest=dst,
            owner=payer.pubkey(),
            amount=i + 1,
            decimals=decimals,
        )
    )
    ix = Instruction(ix.program_id, ix.data, [*ix.accounts, AccountMeta(Keypair().pubkey(), False, False)])
    memo = create_memo(
        MemoParams(program_id=MEMO_PROGRAM_ID, signer=payer.pubkey(), message=f"bench-{i}".encode())
    )
    return Transaction([payer], Message([ix, memo], payer.pubkey()), bh)


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    return (
        bytes(mint)
        + bytes(owner)
        + struct.pack("<Q", amount)
        + bytes(36)
        + b"\x01"
        + bytes(12)
        + bytes(8)
        + bytes(36)
    )


def mint_account(authority: Pubkey, supply: int, decimals: int) -> bytes:
    return struct.pack("<I", 1) + bytes(authority) + struct.pack("<QBB", supply, decimals, 1) + bytes(36)


def setup_inprocess(svm: object, n: int) -> list[Transaction]:
    payer, mint, dst_owner = Keypair(), Keypair().pubkey(), Keypair().pubkey()
    src, dst = Keypair().pubkey(), Keypair().pubkey()
    rent = 2_039_280
    svm.set_account(payer.pubkey(), Account(10**12, b"", Pubkey.default()))  # type: ignore[attr-defined]
    svm.set_account(mint, Account(1_461_600, mint_account(payer.pubkey(), 10**15, 8), TOKEN_PROGRAM_ID))  # type: ignore
    svm.set_account(src, Account(rent, token_account(mint, payer.pubkey(), 10**15), TOKEN_PROGRAM_ID))  # type: ignore
    svm.set_account(dst, Account(rent, token_account(mint, dst_owner, 0), TOKEN_PROGRAM_ID))  # type: ignore
    bh = Hash.new_unique()
    return [payment(payer, src, mint, dst, i, 8, bh) for i in range(n)]


def bench_litesvm(n: int) -> float:
    svm = make_svm()
    txs = setup_inprocess(svm, n)
    t = time.perf_counter()
    for tx in txs:
        svm.send_transaction(tx)
    return n / (time.perf_counter() - t)


def bench_bank(n: int) -> float:
    bank = Bank(finality_slots=32)
    txs = [VersionedTransaction.from_legacy(tx) for tx in setup_inprocess(bank.svm, n)]
    t = time.perf_counter()
    for tx in txs:
        rec = bank.process(tx, preflight=True)
        assert rec is not None and rec.err is None
    return n / (time.perf_counter() - t)


# --- HTTP clients -------------------------------------------------------------------------------------------


class Http:
    """A minimal keep-alive HTTP/1.1 JSON-RPC client (the benchmark must not be limited by its own client)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def open(self) -> Http:
        self.r, self.w = await asyncio.open_connection(self.host, self.port)
        return self

    async def post(self, body: bytes) -> bytes:
        self.w.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(body)
            + body
        )
        head = await self.r.readuntil(b"\r\n\r\n")
        i = head.lower().index(b"content-length:")
        n = int(head[i + 15 : head.index(b"\r\n", i)])
        return await self.r.readexactly(n)

    def close(self) -> None:
        self.w.close()


def send_body(tx: Transaction, i: int) -> bytes:
    return orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "sendTransaction",
            "params": [b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
        }
    )


async def bench_http_send(host: str, port: int, bodies: list[bytes], clients: int) -> tuple[float, list[str]]:
    conns = [await Http(host, port).open() for _ in range(clients)]
    sigs: list[str] = []

    async def worker(conn: Http, mine: list[bytes]) -> None:
        for b in mine:
            out = orjson.loads(await conn.post(b))
            if "result" not in out:
                raise RuntimeError(f"send failed: {out}")
            sigs.append(out["result"])

    t = time.perf_counter()
    await asyncio.gather(*(worker(c, bodies[k::clients]) for k, c in enumerate(conns)))
    dt = time.perf_counter() - t
    for c in conns:
        c.close()
    return len(bodies) / dt, sigs


async def bench_http_confirm(
    host: str,
    port: int,
    ws_url: str,
    bodies: list[bytes],
    sigs_expected: list[str],
    clients: int,
    window: int = 64,
) -> float:
    import websockets

    async def worker(mine: list[tuple[bytes, str]]) -> None:
        conn = await Http(host, port).open()
        async with websockets.connect(ws_url, compression=None, max_queue=None) as ws:
            pending: dict[int, str] = {}
            outstanding = asyncio.Semaphore(window)
            done = asyncio.Event()
            remaining = len(mine)

            async def reader() -> None:
                nonlocal remaining
                async for msg in ws:
                    m = orjson.loads(msg)
                    if m.get("method") == "signatureNotification":
                        if m["params"]["result"]["value"]["err"] is not None:
                            raise RuntimeError("transaction failed")
                        remaining -= 1
                        outstanding.release()
                        if remaining == 0:
                            done.set()
                            return

            rt = asyncio.create_task(reader())
            for k, (body, sig) in enumerate(mine):
                await outstanding.acquire()
                out = orjson.loads(await conn.post(body))
                if out.get("result") != sig:
                    raise RuntimeError(f"send failed: {out}")
                pending[k] = sig
                await ws.send(
                    orjson.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": k,
                            "method": "signatureSubscribe",
                            "params": [sig, {"commitment": "confirmed"}],
                        }
                    ).decode()
                )
            await done.wait()
            rt.cancel()
        conn.close()

    pairs = list(zip(bodies, sigs_expected, strict=True))
    t = time.perf_counter()
    await asyncio.gather(*(worker(pairs[k::clients]) for k in range(clients)))
    return len(bodies) / (time.perf_counter() - t)


async def bench_get_transaction(
    host: str, port: int, sigs: list[str], clients: int, batch: int = 100
) -> float:
    bodies = [
        orjson.dumps(
            [
                {
                    "jsonrpc": "2.0",
                    "id": j,
                    "method": "getTransaction",
                    "params": [
                        s,
                        {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0},
                    ],
                }
                for j, s in enumerate(sigs[i : i + batch])
            ]
        )
        for i in range(0, len(sigs), batch)
    ]
    conns = [await Http(host, port).open() for _ in range(clients)]
    count = 0

    async def worker(conn: Http, mine: list[bytes]) -> None:
        nonlocal count
        for b in mine:
            out = orjson.loads(await conn.post(b))
            if any(r.get("result") is None for r in out):
                raise RuntimeError("getTransaction returned null/error")
            count += len(out)

    t = time.perf_counter()
    await asyncio.gather(*(worker(c, bodies[k::clients]) for k, c in enumerate(conns)))
    dt = time.perf_counter() - t
    for c in conns:
        c.close()
    return count / dt


def start_node(tmp: Path, ledger: Path | None = None) -> tuple[subprocess.Popen[str], str, str]:
    extra = ["--ledger", str(ledger)] if ledger is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "localnet", "up", "--rpc-port", "0", "--ws-port", "0", *extra],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    rpc = ws = ""
    assert proc.stdout is not None
    while not ws:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("node exited")
        if line.startswith("JSON RPC URL:"):
            rpc = line.split(":", 1)[1].strip()
        if line.startswith("WebSocket PubSub URL:"):
            ws = line.split(":", 1)[1].strip()
    return proc, rpc, ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--txs", type=int, default=4000, help="transactions per phase")
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    args = ap.parse_args()
    n, clients = args.txs, args.clients

    console.print("in-process baselines...")
    base = bench_litesvm(n)
    bank_rate = bench_bank(n)

    tmp = Path(tempfile.mkdtemp(prefix="bench-localnet-"))
    proc, rpc_url, ws_url = start_node(tmp)
    try:
        from urllib.parse import urlparse

        u = urlparse(rpc_url)
        host, port = u.hostname or "127.0.0.1", u.port or 8899
        boot = run_bootstrap(rpc_url, tmp / "boot.json", tmp / "keys", wallets=("alice",))
        alice = boot["wallets"][0]
        payer = Keypair.from_bytes(bytes(json.loads(Path(alice["keypair_path"]).read_text())))
        src, mint, dst = (
            Pubkey.from_string(alice["io_account"]),
            Pubkey.from_string(boot["mint"]),
            Pubkey.from_string(boot["treasury"]),
        )

        def signed(offset: int) -> tuple[list[bytes], list[str]]:
            from solana.rpc.api import Client

            bh = Client(rpc_url).get_latest_blockhash().value.blockhash
            txs = [payment(payer, src, mint, dst, offset + i, boot["decimals"], bh) for i in range(n)]
            return [send_body(tx, i) for i, tx in enumerate(txs)], [str(tx.signatures[0]) for tx in txs]

        console.print("signing and sending over HTTP...")
        bodies, _ = signed(0)
        send_rate, sigs = asyncio.run(bench_http_send(host, port, bodies, clients))
        bodies2, sigs2 = signed(n)
        confirm_rate = asyncio.run(bench_http_confirm(host, port, ws_url, bodies2, sigs2, clients))
        all_sigs = sigs + sigs2
        time.sleep(0.5)
        get_first = asyncio.run(bench_get_transaction(host, port, all_sigs, clients))
        get_second = asyncio.run(bench_get_transaction(host, port, all_sigs, clients))
    finally:
        proc.terminate()
        proc.wait(30)
    ledger_proc, ledger_url, _ws = start_node(tmp, tmp / "ledger")
    try:
        from urllib.parse import urlparse

        u = urlparse(ledger_url)
        boot = run_bootstrap(ledger_url, tmp / "boot2.json", tmp / "keys2", wallets=("alice",))
        alice = boot["wallets"][0]
        payer = Keypair.from_bytes(bytes(json.loads(Path(alice["keypair_path"]).read_text())))
        from solana.rpc.api import Client

        bh = Client(ledger_url).get_latest_blockhash().value.blockhash
        src, mint, dst = (Pubkey.from_string(v) for v in (alice["io_account"], boot["mint"], boot["treasury"]))
        txs = [payment(payer, src, mint, dst, i, boot["decimals"], bh) for i in range(n)]
        bodies = [send_body(t, i) for i, t in enumerate(txs)]
        ledger_rate, _ = asyncio.run(bench_http_send(u.hostname or "127.0.0.1", u.port or 8899, bodies, clients))
    finally:
        ledger_proc.terminate()
        ledger_proc.wait(30)
    # the machine is shared: measure the baseline again after the HTTP phases and use the better of the two
    base_after = bench_litesvm(n)
    base = max(base, base_after)

    table = Table(title=f"localnet benchmark ({n} tx per phase, {clients} clients, {os.cpu_count()} CPUs)")
    table.add_column("measure")
    table.add_column("rate /s", justify="right")
    table.add_column("vs baseline", justify="right")
    table.add_column("target")
    table.add_row(
        "LiteSVM in-process, pre-signed IO payments (baseline, best of before/after)",
        f"{base:,.0f}",
        "100%",
        "",
    )
    table.add_row(
        "Bank.process in-process (ledger + indexes)", f"{bank_rate:,.0f}", f"{bank_rate / base:.0%}", ""
    )
    ok = "met" if send_rate >= 0.4 * base else "MISSED"
    table.add_row("HTTP sendTransaction", f"{send_rate:,.0f}", f"{send_rate / base:.0%}", f">= 40%: {ok}")
    table.add_row(
        "HTTP sendTransaction, --ledger (committed per answer)", f"{ledger_rate:,.0f}", f"{ledger_rate / base:.0%}", ""
    )
    table.add_row(
        "HTTP send + signatureSubscribe(confirmed)", f"{confirm_rate:,.0f}", f"{confirm_rate / base:.0%}", ""
    )
    ok = "met" if get_second >= 5000 else "MISSED"
    table.add_row("getTransaction, batches of 100 (first pass)", f"{get_first:,.0f}", "", "")
    table.add_row("getTransaction, batches of 100 (cached)", f"{get_second:,.0f}", "", f">= 5,000: {ok}")
    console.print(table)


if __name__ == "__main__":
    main()
