"""Backfill end to end on the embedded node: every payment exactly once, cursors, failed transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from backend.config import Settings
from indexer.config import resolve
from indexer.pipeline import Indexer, IndexerOptions
from indexer.rpc import RpcClient
from indexer.store import REFS, TRANSFERS, TX, get_cursor
from tests.indexer.chainload import Loader


def make_indexer(engine: Engine, boot_file: Path, rpc_url: str, **opts: Any) -> Indexer:
    cfg = resolve(Settings(bootstrap_file=boot_file, _env_file=None))  # type: ignore[call-arg]
    return Indexer(engine, RpcClient(rpc_url, timeout=5), cfg.context(), cfg.addresses, IndexerOptions(**opts))


class TestBackfill:
    async def test_every_payment_once_with_references_and_failures_flagged(
        self, chain: tuple, loader: Loader, db_engine: Engine
    ) -> None:
        node, boot, boot_file = chain
        sigs = loader.send(250, batch=50, fail_every=25)
        loader.wait_finalized(sigs)
        ix = make_indexer(db_engine, boot_file, node.rpc_url, page_limit=40, chunk_size=60, batch_size=17)
        try:
            await ix.backfill_all()
            await ix.backfill_all()  # a second pass finds nothing new and changes nothing
        finally:
            await ix.rpc.aclose()
        chain_sigs = {e["signature"] for e in loader.chain_signatures(boot["treasury"])}
        with db_engine.connect() as conn:
            db_sigs = set(conn.execute(select(TX.c.signature)).scalars())
            assert chain_sigs <= db_sigs
            rows = conn.execute(select(TRANSFERS).where(TRANSFERS.c.destination == boot["treasury"])).all()
            by_sig = {r.signature: r for r in rows}
            for sig in sigs:
                amount, refs, fail = loader.log.sent[sig]
                assert by_sig[sig].amount == amount and by_sig[sig].failed is fail and by_sig[sig].is_io
                got_refs = conn.execute(select(REFS.c.reference).where(REFS.c.signature == sig)).scalars()
                assert sorted(got_refs) == sorted(refs)
            counted = conn.execute(
                select(func.sum(TRANSFERS.c.amount)).where(
                    TRANSFERS.c.destination == boot["treasury"], TRANSFERS.c.failed.is_(False)
                )
            ).scalar_one()
            assert int(counted) == loader.token_balance(boot["treasury"])
            newest = loader.chain_signatures(boot["treasury"])[0]
            assert get_cursor(conn, boot["treasury"]) == (newest["signature"], newest["slot"])
