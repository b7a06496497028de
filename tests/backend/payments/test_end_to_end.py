"""The API over a database filled by the real indexer from the embedded node (payments and stake traffic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.config import Settings
from indexer.config import resolve
from indexer.pipeline import Indexer, IndexerOptions
from indexer.rpc import RpcClient
from tests.indexer.chainload import Loader, StakeLoader
from tests.indexer.conftest import staking_chain  # noqa: F401  (fixture: node with the staking program)


async def _backfill(engine: Engine, boot_file: Path, rpc_url: str) -> None:
    cfg = resolve(Settings(bootstrap_file=boot_file, _env_file=None))  # type: ignore[call-arg]
    ix = Indexer(engine, RpcClient(rpc_url, timeout=5), cfg.context(), cfg.addresses, IndexerOptions())
    try:
        await ix.backfill_all()
    finally:
        await ix.rpc.aclose()


async def test_api_shows_what_the_chain_did(
    staking_chain: tuple[Any, dict[str, Any], Path],  # noqa: F811
    db_engine: Engine,
    client: TestClient,
) -> None:
    node, boot, boot_file = staking_chain
    loader = Loader(node.rpc_url, boot)
    stakes = StakeLoader(loader)
    try:
        payments = loader.send(20, batch=20, fail_every=5)
        loader.wait_finalized(stakes.register_nodes())
        loader.wait_finalized(payments + stakes.send_batch(12))
    finally:
        loader.http.close()
    await _backfill(db_engine, boot_file, node.rpc_url)

    for sig in payments:
        amount, refs, fail = loader.log.sent[sig]
        for ref in refs:
            body = client.get(f"/payments/by-reference/{ref}").json()
            assert body["paid_finalized"] == ("0" if fail else str(amount))
            (t,) = body["transfers"]
            assert (t["signature"], t["status"], t["failed"], t["is_io"]) == (sig, "finalized", fail, True)
            assert t["amount"] == str(amount) and t["destination"] == boot["treasury"]

    nodes = client.get("/nodes").json()
    assert nodes["total"] == len(stakes.nodes)
    for operator, node_key in stakes.nodes.items():
        staked, unstaked = stakes.staked.get(operator, 0), stakes.unstaked.get(operator, 0)
        n = client.get(f"/nodes/{node_key}").json()
        assert (n["operator"], n["gpu_units"], n["commission_bps"]) == (operator, 8, 500)
        # The operator is the only holder of its node, so it holds the whole pools.
        assert (n["total_stake"], n["operator_stake"], n["delegated_share_bps"]) == (
            str(staked - unstaked), str(staked - unstaked), 0,
        )  # fmt: skip
        w = client.get(f"/wallets/{operator}/positions").json()
        assert (w["bonded"], w["unbonding"]) == (str(staked - unstaked), str(unstaked))

    status = {a["address"]: a for a in client.get("/indexer/status").json()["addresses"]}
    assert status[boot["treasury"]]["rows"] >= len(payments)
    assert status[boot["staking"]["program_id"]]["last_error"] is None
