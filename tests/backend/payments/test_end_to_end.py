"""The API over a database filled by the real indexer from the embedded node (payments and stake traffic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine

from backend.app import create_app
from backend.chain import tx
from backend.chain.tokens import transfer_checked_ix
from backend.config import Settings
from backend.models.indexer import IndexerCursor
from indexer.config import resolve
from indexer.pipeline import Indexer, IndexerOptions
from indexer.rpc import RpcClient
from tests.indexer.chainload import Loader, StakeLoader
from tests.indexer.conftest import chain, staking_chain  # noqa: F401  (fixtures: node with bootstrap [+ staking])


async def _backfill(engine: Engine, boot_file: Path, rpc_url: str, extra: str = "") -> None:
    cfg = resolve(Settings(bootstrap_file=boot_file, indexer_addresses=extra, _env_file=None))  # type: ignore[call-arg]
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

    to_treasury = {"recipient": boot["treasury_owner"], "mint": boot["mint"]}  # this app has no bootstrap file
    for sig in payments:
        amount, refs, fail = loader.log.sent[sig]
        for ref in refs:
            body = client.get(f"/payments/by-reference/{ref}", params=to_treasury).json()
            assert body["paid_finalized"] == ("0" if fail else str(amount))
            (t,) = body["transfers"]
            assert (t["signature"], t["status"], t["failed"], t["is_io"]) == (sig, "finalized", fail, True)
            assert t["reason"] == ("failed" if fail else None)
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


def _keypair(path: str) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(Path(path).read_text())))


async def test_only_what_reached_the_recipient_is_paid(
    chain: tuple[Any, dict[str, Any], Path],  # noqa: F811
    db_url: str,
    db_engine: Engine,
) -> None:
    """Real transfers naming one reference, indexed by the real indexer: a payment into the treasury, a refund
    out of it, a transfer from the buyer to another wallet, and a failed payment. Only the payment is paid."""
    node, boot, boot_file = chain
    c = Client(node.rpc_url)
    mint, decimals = Pubkey.from_string(boot["mint"]), boot["decimals"]
    alice, bob, carol = (boot["wallets"][i] for i in range(3))
    buyer, treasury_owner = _keypair(alice["keypair_path"]), _keypair(boot["treasury_owner_keypair_path"])
    treasury, buyer_ata, bob_ata = (
        Pubkey.from_string(a) for a in (boot["treasury"], alice["io_account"], bob["io_account"])
    )
    ref = Keypair().pubkey()

    def move(source: Pubkey, dest: Pubkey, owner: Keypair, amount: int) -> str:
        ix = transfer_checked_ix(source, mint, dest, owner.pubkey(), amount, decimals, [ref])
        # The buyer pays the fees: the treasury wallet holds only its rent-exempt minimum.
        return str(tx.send_and_confirm(c, buyer, [ix], [owner], commitment=Confirmed))

    paid = move(buyer_ata, treasury, buyer, 1_000)
    refund = move(treasury, buyer_ata, treasury_owner, 400)
    elsewhere = move(buyer_ata, bob_ata, buyer, 300)
    overdraw = tx.build(
        c,
        buyer,
        [transfer_checked_ix(buyer_ata, mint, treasury, buyer.pubkey(), 10**18, decimals, [ref])],
        [],
        Confirmed,
    )
    failed = str(c.send_raw_transaction(bytes(overdraw), TxOpts(skip_preflight=True)).value)
    loader = Loader(node.rpc_url, boot)
    try:
        loader.wait_finalized([paid, refund, elsewhere, failed])
    finally:
        loader.http.close()
    await _backfill(db_engine, boot_file, node.rpc_url, extra=str(bob_ata))  # bob's account is watched too

    settings = Settings(database_url=db_url, bootstrap_file=boot_file, indexer_io_mint=None)
    with TestClient(create_app(settings)) as api:
        r = api.get(f"/payments/by-reference/{ref}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["paid_finalized"], body["paid_pending"], body["total"]) == ("1000", "0", 4)
        assert body["not_counted"] == {"wrong_destination": 2, "failed": 1}
        reasons = {t["signature"]: t["reason"] for t in body["transfers"]}
        assert reasons == {paid: None, refund: "wrong_destination", elsewhere: "wrong_destination", failed: "failed"}
        assert (body["recipient"], body["token_account"]) == (boot["treasury_owner"], boot["treasury"])
        with db_engine.connect() as conn:
            synced = (
                conn.execute(IndexerCursor.__table__.select().where(IndexerCursor.address == boot["treasury"]))
                .mappings()
                .one()["synced_slot"]
            )
        assert body["as_of_slot"] == synced and synced >= max(t["slot"] for t in body["transfers"])

        to_bob = api.get(f"/payments/by-reference/{ref}", params={"recipient": bob["pubkey"]}).json()
        assert (to_bob["paid_finalized"], to_bob["not_counted"]) == ("300", {"wrong_destination": 2, "failed": 1})
        assert to_bob["as_of_slot"] is not None

        to_carol = api.get(f"/payments/by-reference/{ref}", params={"recipient": carol["pubkey"]}).json()
        assert (to_carol["paid_finalized"], to_carol["as_of_slot"]) == ("0", None)
        assert carol["io_account"] in to_carol["note"]
