"""The EVM indexer as a process (``iog evm index backfill|run``), SIGKILLed at random points of its work while
payments keep arriving, restarted each time: afterwards the database holds exactly the chain's logs (no
duplicate, no gap) and the cursor's block hash is the chain's. Every RPC answer is slowed by a proxy so that the
kills land inside ranges (between the reads of a range, or during its write), not only between passes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.db import make_engine
from backend.evm.indexer import Watch
from backend.models.evm import PAID, EvmCursor, EvmPaymentLog
from tests.backend.evm.test_indexer import chain_log_keys
from tests.fixtures.evm import EvmDeployment
from tests.indexer.faultproxy import FaultProxy

IOG = str(Path(sys.executable).with_name("iog"))
MIN_KILLS = 4


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkilled_indexer_restarts_without_duplicate_or_gap(
    evm_deployment: EvmDeployment, db_url: str, db_engine, tmp_path: Path
) -> None:
    dep = evm_deployment
    rng = random.Random(20261201)
    proxy = FaultProxy(dep.node.rpc_url, rate=0.0, delay_seconds=0.03).start()
    env = dict(os.environ) | {
        "IOG_DATABASE_URL": db_url, "IOG_DATA_DIR": str(tmp_path), "IOG_EVM_BOOTSTRAP_FILE": str(dep.path),
        "IOG_EVM_RPC_URL": proxy.url, "IOG_EVM_LOG_RANGE": "2", "IOG_EVM_CONFIRMATIONS": "3",
        "IOG_EVM_POLL_SECONDS": "0.2",
    }
    payments = 0
    kills = runs = 0
    progress: set[int] = set()
    engine = make_engine(db_url)

    def rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(EvmPaymentLog)).scalar_one())

    try:
        while kills < MIN_KILLS:
            for _ in range(6):  # new work before each run: payments and a plain transfer
                payments += 1
                dep.pay(rng.choice(["alice", "bob", "carol"]), payments.to_bytes(32, "big"), rng.randint(1, 10**8))
            dep.transfer("carol", dep.boot.treasury, rng.randint(1, 10**6))
            cmd = ["evm", "index", "backfill"] if runs % 2 == 0 else ["evm", "index", "run"]
            runs += 1
            with open(tmp_path / f"run{runs}.log", "wb") as out:
                calls = proxy.stats["calls"]
                p = subprocess.Popen([IOG, *cmd], env=env, stdout=out, stderr=subprocess.STDOUT)
                deadline = time.monotonic() + 60
                while proxy.stats["calls"] == calls and p.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.2, 1.5))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                rc = p.wait()
            assert rc in (0, -signal.SIGKILL), (tmp_path / f"run{runs}.log").read_text()[-3000:]
            progress.add(rows())
        final = subprocess.run([IOG, "evm", "index", "backfill"], env=env, capture_output=True, timeout=240)
        assert final.returncode == 0, final.stdout.decode()[-3000:] + final.stderr.decode()[-3000:]
    finally:
        proxy.stop()
    assert len(progress) >= 3, progress  # the killed runs got work done
    print(f"runs {runs}, kills {kills}, rows after each run {sorted(progress)}")

    head = dep.client.block_number()
    with engine.connect() as conn:
        keys = list(conn.execute(select(EvmPaymentLog.tx_hash, EvmPaymentLog.log_index)).tuples())
        paid = conn.execute(
            select(func.count()).select_from(EvmPaymentLog).where(EvmPaymentLog.kind == PAID)
        ).scalar_one()
        cursor = conn.execute(select(EvmCursor).where(EvmCursor.watch == Watch.from_boot(dep.boot).name)).one()
    engine.dispose()
    assert len(keys) == len(set(keys))
    assert set(keys) == chain_log_keys(dep)  # no gap, nothing extra
    assert paid == payments
    assert cursor.last_block == head and cursor.last_hash == dep.client.block(head).hash
