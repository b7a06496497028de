"""The fault test: 2,000 payments plus stake traffic on the staking program; the indexer runs as a subprocess
(`iog indexer backfill` / `run`) behind a fault-injecting proxy (10% of calls fail), is killed with SIGKILL at
random points at least 5 times and restarted; at the end the database equals the chain.

Runs on SQLite always and on PostgreSQL when IOG_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db import make_engine
from indexer.projections import POSITIONS, rebuild_all
from indexer.store import CURSORS, EVENTS, REFS, TRANSFERS, TX
from tests.fixtures.db import TEST_DATABASE_URL, fresh_database_url
from tests.indexer.chainload import Loader, StakeLoader
from tests.indexer.conftest import settings_env
from tests.indexer.faultproxy import HTTP_FAULTS, FaultProxy
from tests.indexer.projection_rows import projection_rows

IOG = str(Path(sys.executable).with_name("iog"))
N_PAYMENTS = 2000
MIN_KILLS = 6
STAKES_PER_BATCH = 8


def treasury_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(TRANSFERS)).scalar_one())
    except Exception:  # noqa: BLE001 - before the first run created the tables
        return 0
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fault.db'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL run needs IOG_TEST_DATABASE_URL")
    url, drop = fresh_database_url(tmp_path)
    yield url
    drop()  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_database_equals_chain_after_faults_and_sigkills(staking_chain: tuple, any_db_url: str, tmp_path: Path) -> None:
    node, boot, boot_file = staking_chain
    loader = Loader(node.rpc_url, boot)
    stakes = StakeLoader(loader)
    loader.wait_finalized(stakes.register_nodes())
    rng = random.Random(20261126)
    proxy = FaultProxy(node.rpc_url, node.ws_url, rate=0.10, hang_seconds=2.0, seed=rng.randrange(2**32)).start()
    env = dict(os.environ)
    env.update(
        settings_env(
            boot_file,
            any_db_url,
            proxy.url,
            proxy.ws_url,
            indexer_rpc_timeout=1,
            indexer_chunk_size=60,
            indexer_batch_size=20,
            indexer_page_limit=300,
            indexer_poll_seconds=0.3,
            indexer_max_retries=30,
        )
    )
    sent: list[str] = []
    stake_sigs: list[str] = []

    def send() -> None:
        for _ in range(N_PAYMENTS // 50):
            sent.extend(loader.send_batch(50, fail_every=40))
            stake_sigs.extend(stakes.send_batch(STAKES_PER_BATCH))
            time.sleep(0.3)

    sender = threading.Thread(target=send)
    sender.start()
    kills, runs = 0, 0
    progress: set[int] = set()  # rows seen after each run: the runs got work done between kills
    try:
        while kills < MIN_KILLS or sender.is_alive():
            cmd = ["indexer", "backfill", "--quiet"] if runs % 2 == 0 else ["indexer", "run"]
            runs += 1
            with open(tmp_path / f"run{runs}.log", "wb") as out:
                calls = proxy.stats["calls"]
                p = subprocess.Popen([IOG, *cmd], env=env, stdout=out, stderr=subprocess.STDOUT)
                # The kill lands at a random point of the run's work: the clock starts at its first RPC call,
                # not at the spawn, so a slow start (imports, migrations on a loaded machine) does not eat
                # the whole window and leave runs that never got to work.
                deadline = time.monotonic() + 60
                while proxy.stats["calls"] == calls and p.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.5, 4.0))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                rc = p.wait()
                assert rc in (0, -signal.SIGKILL), (tmp_path / f"run{runs}.log").read_text()[-3000:]
                progress.add(treasury_rows(any_db_url))
        sender.join()
        loader.wait_finalized(sent + stake_sigs)
        final = subprocess.run([IOG, "indexer", "backfill", "--quiet"], env=env, capture_output=True, timeout=300)
        assert final.returncode == 0, final.stdout.decode()[-3000:] + final.stderr.decode()[-3000:]
    finally:
        proxy.stop()
    assert kills >= MIN_KILLS
    assert len(progress) >= 4, progress
    injected = sum(v for k, v in proxy.stats.items() if k not in ("calls", "ws_drop"))
    assert injected > 0.05 * proxy.stats["calls"], proxy.stats
    assert set(HTTP_FAULTS) <= set(proxy.stats) and proxy.stats["ws_drop"] > 0, proxy.stats

    treasury = boot["treasury"]
    chain_entries = loader.chain_signatures(treasury)
    chain_ok = {e["signature"] for e in chain_entries if e["err"] is None}
    chain_failed = {e["signature"] for e in chain_entries if e["err"] is not None}
    assert set(sent) <= chain_ok | chain_failed and len(sent) == N_PAYMENTS

    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            db_tx = {r.signature: r for r in conn.execute(select(TX))}
            assert {e["signature"] for e in chain_entries} <= set(db_tx)
            assert {s for s in chain_ok if db_tx[s].failed} == set()
            assert {s for s in chain_failed if not db_tx[s].failed} == set()
            assert (
                conn.execute(select(func.count()).select_from(TX).where(TX.c.status != "finalized")).scalar_one() == 0
            )
            rows = conn.execute(select(TRANSFERS).where(TRANSFERS.c.destination == treasury)).all()
            # No duplicate, no gap: exactly one transfer row per payment sent.
            assert Counter(r.signature for r in rows if r.signature in loader.log.sent) == Counter(sent)
            # The same sum per account (counted = finalized, successful, IO), and the treasury's balance.
            db_sums: Counter[str] = Counter()
            for r in rows:
                if not r.failed and r.is_io:
                    db_sums[r.source] += r.amount
            chain_sums: Counter[str] = Counter()
            payers = {str(p.keypair.pubkey()): str(p.io_account) for p in loader.payers}
            for sig in chain_ok & set(sent):
                chain_sums[next(r.source for r in rows if r.signature == sig)] += loader.log.sent[sig][0]
            assert db_sums == chain_sums and set(db_sums) <= set(payers.values())
            assert sum(db_sums.values()) == loader.token_balance(treasury)
            n_refs = conn.execute(select(func.count()).select_from(REFS)).scalar_one()
            assert n_refs == sum(len(loader.log.sent[s][1]) for s in sent)
            cur = conn.execute(select(CURSORS).where(CURSORS.c.address == treasury)).one()
            assert cur.last_signature == chain_entries[0]["signature"]

            # The staking program: same signatures, one event per successful instruction, stake vault flows.
            program = boot["staking"]["program_id"]
            prog_entries = loader.chain_signatures(program)
            assert {e["signature"] for e in prog_entries} <= set(db_tx)
            ok_stakes = {e["signature"] for e in prog_entries if e["err"] is None} & set(stake_sigs)
            assert len(ok_stakes) > 0.9 * len(stake_sigs)
            ev = conn.execute(select(EVENTS).where(EVENTS.c.signature.in_(list(stake_sigs)))).all()
            assert sorted(e.signature for e in ev) == sorted(ok_stakes)
            assert all(e.error is None and e.name in ("Staked", "UnstakeRequested") for e in ev)
            vault = boot["staking"]["stake_vault"]
            vault_in = conn.execute(
                select(func.sum(TRANSFERS.c.amount)).where(
                    TRANSFERS.c.destination == vault,
                    TRANSFERS.c.failed.is_(False),
                    TRANSFERS.c.is_io.is_(True),
                )
            ).scalar_one()
            assert int(vault_in) == loader.token_balance(vault)
            bonded = {r.owner: r.bonded for r in conn.execute(select(POSITIONS))}
            staked_by_events: Counter[str] = Counter()
            for e in ev:
                f = json.loads(e.fields)
                staked_by_events[f["owner"]] += int(f["amount"]) * (1 if e.name == "Staked" else -1)
            assert bonded == dict(staked_by_events)
            incremental = projection_rows(conn)
        # The projections were kept incrementally across every kill and restart: a replay from scratch agrees.
        with engine.begin() as conn:
            rebuild_all(conn)
            assert projection_rows(conn) == incremental
    finally:
        engine.dispose()
    rec = subprocess.run(
        [IOG, "indexer", "reconcile", "--rpc-url", node.rpc_url], env=env, capture_output=True, timeout=120
    )
    assert rec.returncode == 0, rec.stdout.decode()[-3000:] + rec.stderr.decode()[-2000:]
    print(f"\nfault test: runs={runs} kills={kills} proxy={dict(proxy.stats)}")
