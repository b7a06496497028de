"""``iog ledger check`` over both rails at once: an IO invoice paid on the embedded localnet and a USDC-EVM invoice
paid through the router on anvil, each seen by its own indexer and settled by the settlement worker (real
subprocesses, the API over HTTPS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey
from sqlalchemy import Engine

from backend.chain import tx
from backend.chain.tokens import transfer_checked_ix
from tests.backend.settlement.harness import Net, as_json, dump_logs, make_net, wait_for
from tests.fixtures.evm import EvmDeployment

IO_UNIT, USDC = 10**8, 10**6


@pytest.fixture
def net(
    localnet_factory: Any, live_api_factory: Any, db_url: str, db_engine: Engine, tmp_path: Path,
    evm_deployment: EvmDeployment,
) -> Iterator[Net]:
    yield from make_net(localnet_factory, live_api_factory, db_url, db_engine, tmp_path,
                        evm_bootstrap_file=evm_deployment.path, evm_poll_seconds=0.2)


def _post(net: Net, token: str, body: dict[str, Any]) -> dict[str, Any]:
    with net.http() as http:
        r = http.post("/invoices", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _status(net: Net, invoice_id: str) -> str:
    with net.http() as http:
        return str(http.get(f"/invoices/{invoice_id}").json()["status"])


@pytest.mark.slow
def test_ledger_check_passes_for_both_rails_at_once(net: Net, evm_deployment: EvmDeployment) -> None:
    dep = evm_deployment
    net.start("evm-indexer", "evm", "index", "run")
    token = net.sign_in("alice")
    io_inv = _post(net, token, {"amount": str(3 * IO_UNIT), "currency": "IO"})
    evm_inv = _post(net, token, {"amount": str(7 * USDC), "currency": "USDC-EVM"})

    alice = net.wallet("alice")
    wallet = next(w for w in net.boot["wallets"] if w["name"] == "alice")
    mint = Pubkey.from_string(net.boot["mint"])
    source, dest = Pubkey.from_string(wallet["io_account"]), Pubkey.from_string(io_inv["destination"])
    ix = transfer_checked_ix(source, mint, dest, alice.pubkey(), 3 * IO_UNIT, net.boot["decimals"],
                             [Pubkey.from_string(io_inv["reference"])])
    tx.send_and_confirm(net.client, alice, [ix], [], commitment=Confirmed)
    dep.pay("alice", bytes.fromhex(evm_inv["payment_instructions"]["invoice_id"][2:]), 7 * USDC)
    dep.mine(dep.boot.confirmations)

    wait_for(lambda: _status(net, evm_inv["id"]) == "paid", "the USDC-EVM invoice paid", 60)
    wait_for(lambda: _status(net, io_inv["id"]) == "paid", "the IO invoice paid", 90)

    def passed() -> Any:
        out = net.iog("ledger", "check", "--json", "--wait", "20")
        return as_json(out.stdout) if out.returncode == 0 else None

    report = wait_for(passed, "ledger check passing on both rails", 90, every=1.0)
    cur = {c["currency"]: c for c in report["currencies"]}
    assert set(cur) == {"IO", "USDC", "USDC-EVM"}, dump_logs(net)
    assert cur["USDC-EVM"]["book_treasury"] == cur["USDC-EVM"]["chain_treasury"] == str(7 * USDC)
    assert cur["USDC-EVM"]["as_of_block"] is not None and cur["USDC-EVM"]["as_of_slot"] is None
    assert cur["IO"]["book_treasury"] == cur["IO"]["chain_treasury"]
    assert report["notes"] == [] and report["differences"] == []
    text = net.iog("ledger", "check")
    assert text.returncode == 0 and "USDC-EVM" in text.stdout and "ledger check passed" in text.stdout, text.stdout
