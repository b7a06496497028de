"""One scheduler leader: the lock (advisory lock on PostgreSQL, file lock on SQLite), and two real
`iog scheduler run` processes: exactly one closes an epoch; kill the leader and the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.models.epochs import POSTED, Epoch
from backend.scheduler.leader import FileLock, PgAdvisoryLock, leader_lock
from tests.backend.epochs.conftest import make_cluster
from tests.backend.epochs.test_crash import posts_on_chain


def test_only_one_holds_the_lock_and_it_is_free_again_when_its_holder_is_gone(db_url: str, db_engine: Any) -> None:
    settings = Settings(database_url=db_url, _env_file=None)
    first, second = leader_lock(settings), leader_lock(settings)
    assert isinstance(first, PgAdvisoryLock if db_url.startswith("postgresql") else FileLock)
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    if isinstance(first, PgAdvisoryLock):
        # The leader's connection dies (as when its process is killed): the server frees the lock with it.
        pid = first.conn.execute(text("SELECT pg_backend_pid()")).scalar()  # type: ignore[union-attr]
        with db_engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        assert not first.held()
    else:
        first.release()
    assert second.acquire() and second.held()
    second.release()


def test_different_databases_do_not_share_a_lock(db_url: str, db_engine: Any, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    a = leader_lock(Settings(database_url=db_url, _env_file=None))
    b = leader_lock(Settings(database_url=other, _env_file=None))
    assert a.acquire() and b.acquire()
    a.release()
    b.release()


def wait_for(check: Callable[[], bool], what: str, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.2)
    return time.monotonic() - start


@pytest.mark.slow
def test_two_schedulers_one_closes_and_the_standby_takes_over(
    localnet: Any, staking_so: Path, tmp_path: Path, db_url: str, db_engine: Any,
    session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    t0 = int(time.time())
    genesis = t0 - 61  # epoch 0 is frozen now (no grace), epoch 1 freezes 59 s from now
    cluster = make_cluster(localnet.rpc_url, tmp_path, db_url)
    with session_factory.begin() as s:
        s.add(Epoch(epoch=0, state="open", start_time=genesis, end_time=genesis + 60, post_attempts=0, updated_at=t0))
    env = {
        **os.environ, "IOG_DATABASE_URL": db_url, "IOG_RPC_URL": localnet.rpc_url,
        "IOG_BOOTSTRAP_FILE": str(cluster.boot_file), "IOG_EPOCH_GENESIS": str(genesis), "IOG_EPOCH_SECONDS": "60",
        "IOG_EPOCH_GRACE_SECONDS": "0", "IOG_SCHEDULER_TICK_SECONDS": "1", "IOG_DATA_DIR": str(tmp_path / "data"),
    }  # fmt: skip
    logs = {n: tmp_path / f"{n}.log" for n in ("a", "b")}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "scheduler", "run"], env=env, cwd=tmp_path,
            stdout=logs[name].open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log(name: str) -> str:
        return logs[name].read_text()

    def state(epoch: int) -> str | None:
        with session_factory() as s:
            row = s.get(Epoch, epoch)
            return row.state if row else None

    try:
        start("a")
        wait_for(lambda: "leader: running epochs" in log("a"), "a to lead", 60)
        start("b")
        wait_for(lambda: "standby" in log("b"), "b to stand by", 60)
        wait_for(lambda: state(0) == POSTED, "epoch 0 posted", 60)
        assert "epoch 0 computed" in log("a") and "epoch 0" not in log("b")
        procs["a"].send_signal(signal.SIGKILL)
        procs["a"].wait(10)
        took = wait_for(lambda: "leader: running epochs" in log("b"), "b to take over", 30)
        assert took < 10, f"the standby took {took:.1f} s to take over"
        wait_for(lambda: state(1) == POSTED, "epoch 1 posted", 120)
        assert "epoch 1 computed" in log("b") and "epoch 1" not in log("a")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
    assert len(posts_on_chain(cluster, 0)) == 1 and len(posts_on_chain(cluster, 1)) == 1
    assert procs["b"].returncode == 0, log("b")[-2000:]
