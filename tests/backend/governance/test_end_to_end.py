"""End to end on the embedded localnet with the real staking program, indexer (subprocess) and API over HTTP: the
demo's three stakers (alice and bob operate nodes, carol delegates to alice), one grant proposal, votes (one
through `iog governance vote`), the close, the outcome memo on chain, the hold-up time, a grant larger than the
grants treasury that waits (Succeeded) until the treasury is funded, a crash between recording the payment and
sending it, the grant paid exactly once (the recipient's balance over RPC), booked in the ledger, and
`iog governance verify` green."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine, func, select

from backend.chain import treasury as treasury_mod
from backend.chain import tx as chain_tx
from backend.chain.demo import seed_demo_step
from backend.chain.deploy import bootstrap_step
from backend.chain.epoch_setup import epochs_step
from backend.chain.keys import load_keypair
from backend.chain.settlement_setup import settlement_step
from backend.chain.tokens import io_account, transfer_checked_ix
from backend.db import make_sessionmaker, session_scope
from backend.governance import tally
from backend.governance.tasks import PassResult, governance_pass
from backend.ledger import service as ledger
from backend.models.settlement import SettlementTransfer, SettlementTx
from backend.settlement import outgoing
from backend.settlement.chainport import RpcChain
from tests.backend.settlement.harness import Net, dump_logs, wait_for
from tests.fixtures.localnet import run_bootstrap

IO = 10**8
WINDOW = 25


@pytest.fixture
def net(localnet_factory: Any, live_api_factory: Any, db_url: str, db_engine: Engine, tmp_path: Path) -> Iterator[Net]:
    node = localnet_factory(finality_slots=16)
    boot_file = tmp_path / "localnet.json"
    steps = [bootstrap_step, seed_demo_step, settlement_step, epochs_step(boot_file)]
    boot = run_bootstrap(node.rpc_url, boot_file, tmp_path / "keys", extra_steps=steps)
    settings = {
        "governance_min_stake_to_propose": IO,
        "governance_voting_base_time": WINDOW,
        "governance_quorum_bps": 2_000,
        "governance_threshold_bps": 5_000,
        "governance_transactions_hold_up_time": 2,
    }
    env = {
        "IOG_DATABASE_URL": db_url, "IOG_RPC_URL": node.rpc_url, "IOG_WS_URL": node.ws_url,
        "IOG_BOOTSTRAP_FILE": str(boot_file), "IOG_DATA_DIR": str(tmp_path), "IOG_INDEXER_POLL_SECONDS": "0.3",
        **{f"IOG_{k.upper()}": str(v) for k, v in settings.items()},
    }  # fmt: skip
    api = live_api_factory(
        rpc_url=node.rpc_url, ws_url=node.ws_url, bootstrap_file=boot_file, data_dir=tmp_path, **settings
    )
    env["IOG_API_URI"] = api.url
    n = Net(node, boot, boot_file, tmp_path, db_url, db_engine, env, api)
    try:
        n.start("indexer", "indexer", "run")
        program = boot["staking"]["program_id"]
        wait_for(lambda: _synced(n, program) >= n.finalized_slot() - 1, "the indexer through the demo seed", 120, 0.2)
        yield n
    finally:
        n.stop_all()


def _synced(net: Net, address: str) -> int:
    from backend.models.indexer import IndexerCursor

    with net.session() as s:
        row = s.get(IndexerCursor, address)
        return int(row.synced_slot) if row is not None else 0


def _fund_community(net: Net, amount: int) -> None:
    """What the epoch runner does each epoch: the community share from the emission reserve."""
    owner = load_keypair(Path(net.boot["emission_reserve_owner_keypair_path"]))
    ix = transfer_checked_ix(
        Pubkey.from_string(net.boot["emission_reserve"]), Pubkey.from_string(net.boot["mint"]),
        Pubkey.from_string(net.boot["epochs"]["community_treasury"]), owner.pubkey(), amount, net.boot["decimals"],
    )  # fmt: skip
    chain_tx.send_and_confirm(net.client, owner, [ix], commitment=Confirmed)


def _pass(net: Net) -> PassResult:
    return governance_pass(net.api.settings)


def _get(net: Net, path: str) -> dict[str, Any]:
    r = httpx.get(net.api.url + path, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.slow
def test_grant_voted_closed_held_up_paid_once_and_verified(net: Net) -> None:
    alice, bob, carol = (net.wallet(n) for n in ("alice", "bob", "carol"))
    dave = Keypair()
    # 1. alice proposes a grant of 1,500 IO to dave; the snapshot holds the three stakers.
    with httpx.Client(base_url=net.api.url, timeout=30) as http:
        ch = http.post("/auth/challenge", json={"address": str(alice.pubkey())}).json()
        token = http.post(
            "/auth/verify",
            json={"message": ch["message"], "signature": str(alice.sign_message(ch["message"].encode()))},
        ).json()["token"]
        body = {
            "title": "GPU lab",
            "kind": "grant",
            "grant": {"recipient": str(dave.pubkey()), "amount": str(1500 * IO)},
        }
        r = http.post("/governance/proposals", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    p = r.json()
    pid = p["id"]
    snap = _get(net, f"/governance/proposals/{pid}/snapshot")
    stakers = {e["wallet"] for e in snap["entries"]}
    assert stakers == {str(k.pubkey()) for k in (alice, bob, carol)}, snap
    # 2. votes: alice and carol yes, bob no (bob through the CLI, signing with his keypair file).
    for kp, choice in ((alice, "yes"), (carol, "yes")):
        b = tally.sign_ballot(kp, pid, choice, "1")
        assert httpx.post(f"{net.api.url}/governance/proposals/{pid}/ballots", json=b).status_code == 201
    bob_file = next(w["keypair_path"] for w in net.boot["wallets"] if w["name"] == "bob")
    out = net.iog("governance", "vote", pid, "no", "--keypair", bob_file)
    assert out.returncode == 0, out.stdout + out.stderr
    # 3. nothing closes before the window ends; then the close, the memo.
    assert _pass(net).closed == []
    wait_for(lambda: time.time() >= p["voting_ends_at"], "the end of the window", WINDOW + 10, 0.2)
    assert _pass(net).closed == [pid]
    closed = _get(net, f"/governance/proposals/{pid}")
    weights = {e["wallet"]: int(e["stake"]) for e in snap["entries"]}
    yes = weights[str(alice.pubkey())] + weights[str(carol.pubkey())]
    assert closed["state"] == "Succeeded" and closed["outcome"]["totals"]["yes"] == str(yes), closed
    wait_for(
        lambda: (
            _pass(net).memos.get(pid) == "landed"
            or _get(net, f"/governance/proposals/{pid}")["memo"]["status"] == "landed"
        ),
        "the memo",
        60,
        0.3,
    )
    # 4. after the hold-up: the grants treasury holds 1,000 IO, the grant needs 1,500: it waits, Succeeded.
    _fund_community(net, 1000 * IO)
    time.sleep(2)
    result = _pass(net)
    assert pid in result.waiting and result.executing == []
    assert _get(net, f"/governance/proposals/{pid}")["state"] == "Succeeded"
    # 5. funded: the payment is recorded, and the worker "crashes" before sending it.
    _fund_community(net, 1000 * IO)
    settings = net.api.settings
    treasury = treasury_mod.load(settings)
    from backend.governance.tasks import execute_grants

    factory = make_sessionmaker(net.engine)
    with session_scope(factory) as s:
        r2 = PassResult()
        execute_grants(s, treasury, lambda a: net.token_balance(a), int(time.time()), r2)
    assert r2.executing == [pid]
    signed = outgoing.record(factory, RpcChain(net.client), treasury, treasury.keypair(), int(time.time()))
    assert len(signed) == 1  # recorded, never sent
    # 6. the next passes send the recorded bytes (no second payment), the indexer sees it finalized, Completed.
    dave_io = str(io_account(dave.pubkey(), Pubkey.from_string(net.boot["mint"])))

    def completed() -> bool:
        _pass(net)
        return _get(net, f"/governance/proposals/{pid}")["state"] == "Completed"

    wait_for(completed, "the grant paid and booked", 120, 0.5)
    assert net.token_balance(dave_io) == 1500 * IO
    for _ in range(2):
        _pass(net)  # the job again: nothing more is paid
    assert net.token_balance(dave_io) == 1500 * IO
    with net.session() as s:
        assert (
            s.execute(
                select(func.count()).select_from(SettlementTransfer).where(SettlementTransfer.kind == "grant")
            ).scalar_one()
            == 1
        )
        assert s.execute(select(func.count()).select_from(SettlementTx)).scalar_one() == 1
        assert ledger.balance(s, ledger.GRANTS_PENDING, "IO") == 0
    wait_for(lambda: _booked(net) == 500 * IO, "inflows and the grant booked", 60, 0.5)
    final = _get(net, f"/governance/proposals/{pid}")
    assert final["payout"]["status"] == "finalized" and final["payout"]["amount"] == str(1500 * IO)
    # 7. anyone recomputes the outcome from the published ballots and snapshot, and finds the memo on chain.
    out = net.iog("governance", "verify", pid)
    assert out.returncode == 0, out.stdout + out.stderr + dump_logs(net)
    assert "OK" in out.stdout and "memo" in out.stdout
    # 8. the community book (inflows in, the grant out) equals the community treasury's account on chain.
    out = net.iog("ledger", "check", "--json")
    report = json.loads(out.stdout)
    row = next(c for c in report["currencies"] if c["currency"] == "IO community")
    assert row["treasury_account"] == net.boot["epochs"]["community_treasury"], row
    assert row["book_treasury"] == row["chain_treasury"] == str(500 * IO), row
    assert out.returncode == 0 and report["ok"], report["differences"]


def _booked(net: Net) -> int:
    _pass(net)
    with net.session() as s:
        return ledger.balance(s, ledger.COMMUNITY_TREASURY, "IO")
