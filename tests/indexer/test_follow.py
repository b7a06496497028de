"""Follow mode on the embedded node: pending at confirmed, finalized later, gaps filled after reconnects."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from backend.config import Settings
from indexer.config import resolve
from indexer.follow import Follower
from indexer.pipeline import Indexer, IndexerOptions
from indexer.rpc import RpcClient
from indexer.store import TX
from tests.fixtures.localnet import run_bootstrap
from tests.indexer.chainload import Loader
from tests.indexer.faultproxy import FaultProxy


def statuses(engine: Engine, sigs: list[str]) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(TX.c.signature, TX.c.status).where(TX.c.signature.in_(sigs)))
        return {r[0]: r[1] for r in rows}


async def wait_for(pred: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(pred):
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


class TestFollow:
    async def test_payment_is_pending_at_confirmed_then_finalized(
        self, tmp_path: Path, db_engine: Engine, localnet_factory: Any
    ) -> None:
        # Long finality (60 slots) so the confirmed-only window is wide enough to observe.
        node = localnet_factory(finality_slots=60)
        boot = run_bootstrap(node.rpc_url, tmp_path / "b.json", tmp_path / "keys")
        cfg = resolve(Settings(bootstrap_file=tmp_path / "b.json", _env_file=None))  # type: ignore[call-arg]
        rpc = RpcClient(node.rpc_url)
        ix = Indexer(db_engine, rpc, cfg.context(), cfg.addresses, IndexerOptions())
        follower = Follower(ix, node.ws_url, poll_seconds=0.2)
        task = asyncio.create_task(follower.run())
        await asyncio.wait_for(follower.subscribed.wait(), 30)
        loader = Loader(node.rpc_url, boot)
        sigs = await asyncio.to_thread(loader.send_batch, 3)
        seen_pending: set[str] = set()

        def observe() -> bool:
            st = statuses(db_engine, sigs)
            seen_pending.update(s for s, v in st.items() if v == "confirmed")
            return len(st) == 3 and set(st.values()) == {"finalized"}

        await wait_for(observe)
        follower.stop.set()
        await task
        await rpc.aclose()
        assert seen_pending, "no transaction was ever shown as pending before finalization"

    @pytest.mark.slow
    async def test_dropped_websocket_and_rpc_faults_lose_nothing(
        self, chain: tuple, loader: Loader, db_engine: Engine
    ) -> None:
        node, boot, boot_file = chain
        with FaultProxy(node.rpc_url, node.ws_url, rate=0.2, hang_seconds=1.5, ws_drop_every=(2, 6), seed=3) as px:
            cfg = resolve(Settings(bootstrap_file=boot_file, _env_file=None))  # type: ignore[call-arg]
            rpc = RpcClient(px.url, timeout=0.5, max_retries=30, backoff_cap=0.3)
            ix = Indexer(db_engine, rpc, cfg.context(), cfg.addresses, IndexerOptions(page_limit=50, batch_size=10))
            follower = Follower(ix, px.ws_url, poll_seconds=30.0)  # only websocket (re)connects wake it
            task = asyncio.create_task(follower.run())
            sigs: list[str] = []
            for _ in range(6):
                sigs += await asyncio.to_thread(loader.send_batch, 20)
                await asyncio.sleep(0.3)
            await asyncio.to_thread(loader.wait_finalized, sigs)

            def all_final() -> bool:
                st = statuses(db_engine, sigs)
                return len(st) == len(sigs) and set(st.values()) == {"finalized"}

            # Wake the loop by new activity until the pass after finalization has run.
            deadline = time.monotonic() + 90
            while not await asyncio.to_thread(all_final):
                assert time.monotonic() < deadline, statuses(db_engine, sigs)
                await asyncio.to_thread(loader.send_batch, 1)
                await asyncio.sleep(0.3)
            follower.stop.set()
            await task
            await rpc.aclose()
            assert px.stats["ws_drop"] >= 1
