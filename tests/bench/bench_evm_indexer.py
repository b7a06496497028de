"""EVM indexer benchmark: logs decoded and loaded per second, against a naive baseline in the same run.

Puts ``--n`` router payments on a fresh anvil (its own process, chain mined in batches), then measures on the
same chain and the same kind of database (a fresh SQLite file, or a fresh PostgreSQL schema with ``--pg URL``):
- naive baseline: one ``eth_getTransactionReceipt`` per payment (web3.py), its logs decoded, one ORM insert and
  one commit per log (``--baseline`` payments, default all);
- the indexer end to end: ``EvmIndexer.pass_once`` (eth_getLogs over ``--range`` blocks, decode, bulk insert,
  cursor in the same transaction);
- decode + load alone: the recorded eth_getLogs answers decoded and written in one transaction (no network).
Both count the same logs (a Paid and its Transfer into the treasury per payment).

Run: ``.venv/bin/python tests/bench/bench_evm_indexer.py [--n 3000] [--range 2000] [--pg URL]``.
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
from sqlalchemy import Engine, func, select, text  # noqa: E402

from backend import migrate  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.evm.anvil import Anvil  # noqa: E402
from backend.evm.bootstrap import bootstrap  # noqa: E402
from backend.evm.client import EvmClient, dev_account  # noqa: E402
from backend.evm.decode import decode_logs  # noqa: E402
from backend.evm.indexer import EvmIndexer, Watch, row_of  # noqa: E402
from backend.models.base import SQLITE_INT_MAX  # noqa: E402
from backend.models.evm import EvmPaymentLog  # noqa: E402

console = Console()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BATCH = 200  # transactions per mined block while loading the chain


def load_chain(client: EvmClient, boot: Any, n: int) -> list[str]:
    """``n`` router payments from the three demo buyers (explicit nonces, mined in blocks of BATCH); pay hashes."""
    token, router = boot.token.address, boot.router.address
    buyers = [dev_account(b.dev_account_index) for b in boot.buyers]
    for acct in buyers:  # one unlimited approval each, as a wallet might
        data = client.call_data("Token", token, "approve", router, 2**256 - 1)
        client.send_and_wait(acct, {"to": token, "data": data})
    client.request("evm_setAutomine", [False])
    nonces = {a.address: client.nonce(a.address) for a in buyers}
    fees = client.fees()
    hashes: list[str] = []
    for i in range(n):
        acct = buyers[i % len(buyers)]
        data = client.call_data("PaymentRouter", router, "pay", (i + 1).to_bytes(32, "big"), 1_000 + i)
        signed = client.sign(acct, {"to": router, "data": data, "gas": 120_000}, nonces[acct.address], fees)
        nonces[acct.address] += 1
        hashes.append(client.send_raw(signed.raw))
        if (i + 1) % BATCH == 0:
            client.request("evm_mine", [])
    client.request("evm_mine", [])
    client.request("evm_setAutomine", [True])
    return hashes


def fresh_engine(pg: str | None, tmp: Path) -> tuple[Engine, str]:
    if pg:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(pg)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        sep = "&" if "?" in pg else "?"
        url = f"{pg}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine, url


def naive(client: EvmClient, engine: Engine, boot: Any, hashes: list[str]) -> int:
    """One receipt per payment through web3.py, one ORM insert and commit per log."""
    sessions = make_sessionmaker(engine)
    w3 = client.w3
    count = 0
    for h in hashes:
        receipt = w3.eth.get_transaction_receipt(h)  # type: ignore[arg-type]
        raws = [
            {"address": lg["address"], "topics": ["0x" + bytes(t).hex() for t in lg["topics"]],
             "data": "0x" + bytes(lg["data"]).hex(), "blockHash": "0x" + bytes(lg["blockHash"]).hex(),
             "blockNumber": hex(lg["blockNumber"]), "transactionHash": "0x" + bytes(lg["transactionHash"]).hex(),
             "transactionIndex": hex(lg["transactionIndex"]), "logIndex": hex(lg["logIndex"])}
            for lg in receipt["logs"]
        ]
        decoded, _ = decode_logs(raws, boot.treasury)
        for d in decoded:
            with sessions() as s:
                s.add(EvmPaymentLog(**row_of(d, boot.chain_id, False, SQLITE_INT_MAX)))
                s.commit()
            count += 1
    return count


def decode_load(engine: Engine, boot: Any, raws: list[dict[str, Any]]) -> int:
    """Decode recorded eth_getLogs answers and write them in one transaction (no network)."""
    from backend.evm.indexer import LOGS, _insert

    decoded, _ = decode_logs(raws, boot.treasury)
    with engine.begin() as conn:
        rows = [row_of(d, boot.chain_id, False, SQLITE_INT_MAX) for d in decoded]
        conn.execute(_insert(conn, LOGS).on_conflict_do_nothing(), rows)
    return len(decoded)


def rows_in(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(EvmPaymentLog)).scalar_one())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="payments to put on chain (two logs each)")
    ap.add_argument("--baseline", type=int, default=0, help="payments the baseline processes (0: all)")
    ap.add_argument("--range", type=int, default=2000, help="blocks per eth_getLogs of the indexer")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default: a SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        node = Anvil(port=free_port(), log=tmp / "anvil.log").start()
        try:
            client = EvmClient(node.rpc_url)
            boot = bootstrap(client, tmp / "evm.json", tmp / "keys").file
            t0 = time.perf_counter()
            hashes = load_chain(client, boot, args.n)
            console.print(f"put {len(hashes):,} payments on chain in {time.perf_counter() - t0:.1f} s "
                          f"(head {client.block_number()})")
            watch = Watch.from_boot(boot)
            table = Table("method", "logs", "seconds", "logs/s", "vs baseline")

            base_engine, _ = fresh_engine(args.pg, tmp)
            subset = hashes[: args.baseline or len(hashes)]
            t0 = time.perf_counter()
            base_logs = naive(client, base_engine, boot, subset)
            base_s = time.perf_counter() - t0
            base_rate = base_logs / base_s
            table.add_row("naive: receipt + commit per payment (web3.py)", f"{base_logs:,}", f"{base_s:.2f}",
                          f"{base_rate:,.0f}", "1.0x")

            engine, _ = fresh_engine(args.pg, tmp)
            idx = EvmIndexer(engine, client, watch, log_range=args.range, confirmations=12)
            t0 = time.perf_counter()
            result = idx.pass_once()
            idx_s = time.perf_counter() - t0
            assert rows_in(engine) == result.logs == 2 * args.n, (rows_in(engine), result.logs)
            table.add_row(f"indexer end to end (eth_getLogs, {args.range} blocks/range)", f"{result.logs:,}",
                          f"{idx_s:.2f}", f"{result.logs / idx_s:,.0f}", f"{result.logs / idx_s / base_rate:.1f}x")

            head = client.block_number()
            raws = [*idx._fetch(watch.start_block, head)]
            engine2, _ = fresh_engine(args.pg, tmp)
            t0 = time.perf_counter()
            n_logs = decode_load(engine2, boot, raws)
            dl_s = time.perf_counter() - t0
            table.add_row("decode + load alone (recorded getLogs)", f"{n_logs:,}", f"{dl_s:.2f}",
                          f"{n_logs / dl_s:,.0f}", f"{n_logs / dl_s / base_rate:.1f}x")
            console.print(table)
            console.print(f"database: {'PostgreSQL' if args.pg else 'SQLite file'}; anvil {node.rpc_url}")
        finally:
            node.stop()


if __name__ == "__main__":
    main()
