"""End to end on the embedded localnet with the real indexer and settlement worker (subprocesses) and the API over
HTTPS: a buyer pays an invoice from its Solana Pay URL alone (the official @solana/pay client builds the transfer as
a wallet would) -> seen -> paid; a USDC invoice paid through the transaction request with signed webhooks; a job
metered over two epochs; the operator's payout, SIGKILLed between send and record and restarted, paid exactly
once; a refund; a burn in /supply; ``iog ledger check`` passes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.commitment import Confirmed, Finalized
from solders.pubkey import Pubkey
from solders.signature import Signature
from sqlalchemy import Engine, select

from backend.chain import tx as chain_tx
from backend.chain.tokens import io_account, transfer_checked_ix
from backend.ledger import service as ledger
from backend.models.settlement import SettlementTransfer, SettlementTx
from backend.payments import webhooks
from tests.backend.settlement.harness import Net, as_json, dump_logs, make_net, wait_for
from tests.fixtures.js import JsClients

IO_UNIT = 10**8
USDC_UNIT = 10**6
EPOCH = 600


@pytest.fixture
def net(localnet_factory: Any, live_api_factory: Any, db_url: str, db_engine: Engine, tmp_path: Path) -> Iterator[Net]:
    yield from make_net(
        localnet_factory,
        live_api_factory,
        db_url,
        db_engine,
        tmp_path,
        payout_threshold_io=1,
        payout_threshold_usdc=1,
        epoch_seconds=EPOCH,
    )


class Hooks:
    """A webhook receiver: records (headers, body) of every POST."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                hooks.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _invoice(net: Net, who: str, body: dict[str, Any]) -> dict[str, Any]:
    with net.http() as http:
        r = http.post("/invoices", json=body, headers={"Authorization": f"Bearer {who}"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _get(net: Net, path: str, token: str | None = None) -> dict[str, Any]:
    with net.http() as http:
        r = http.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _balance(net: Net, account: str, currency: str) -> int:
    with net.session() as s:
        return ledger.balance(s, account, currency)


@pytest.mark.slow
def test_buyer_pays_is_metered_refunded_and_operator_paid_exactly_once(net: Net, js: JsClients) -> None:
    alice, bob = net.wallet("alice"), net.wallet("bob")
    alice_token = net.sign_in("alice")
    key_id, orchestrator = net.api_key()
    treasury_usdc = net.boot["settlement"]["treasury_usdc"]

    # 1. An IO invoice paid from its Solana Pay URL alone, by the official client acting as a wallet.
    inv = _invoice(net, alice_token, {"amount": str(25 * IO_UNIT), "currency": "IO", "description": "GPU hours"})
    assert inv["status"] == "open" and inv["recipient"] == net.boot["treasury_owner"]
    assert inv["solana_pay_url"].startswith(f"solana:{net.boot['treasury_owner']}?amount=25&spl-token=")
    paid = js.run(
        "pay_url.mjs",
        {
            "mode": "pay",
            "rpc": net.node.rpc_url,
            "ws": net.node.ws_url,
            "url": inv["solana_pay_url"],
            "secretKey": list(bytes(alice)),
        },
    )
    assert paid["reference"] == [inv["reference"]] and paid["memo"] == inv["id"] and paid["amount"] == "25"
    statuses: list[str] = []

    def status_is(wanted: str) -> bool:
        st = _get(net, f"/invoices/{inv['id']}")["status"]
        if not statuses or statuses[-1] != st:
            statuses.append(st)
        return st == wanted

    wait_for(lambda: status_is("paid"), "the IO invoice paid", timeout=90, every=0.02)
    assert statuses[-2:] == ["seen", "paid"], statuses
    body = _get(net, f"/invoices/{inv['id']}")
    assert body["paid"] == str(25 * IO_UNIT) and body["flags"] == [] and body["as_of_slot"] is not None
    merchant = js.run(
        "pay_url.mjs",
        {"mode": "validate", "rpc": net.node.rpc_url, "ws": net.node.ws_url, "url": inv["solana_pay_url"]},
    )
    assert merchant["found"] == paid["signature"] and merchant["validated"] is True
    wait_for(lambda: _balance(net, ledger.buyer(str(alice.pubkey())), "IO") == 25 * IO_UNIT, "payment booked")

    # 2. A USDC invoice (2% fee) paid through the transaction request, with signed webhooks to the orchestrator.
    hooks = Hooks()
    try:
        usdc = _invoice(
            net,
            orchestrator,
            {
                "amount": str(100 * USDC_UNIT),
                "currency": "USDC",
                "buyer": str(alice.pubkey()),
                "callback_url": hooks.url,
            },
        )
        paid_tx = js.run(
            "txrequest.mjs",
            {
                "rpc": net.node.rpc_url,
                "ws": net.node.ws_url,
                "url": usdc["transaction_request_url"],
                "secretKey": list(bytes(alice)),
            },  # fmt: skip
            env={"NODE_EXTRA_CA_CERTS": str(net.api.ca_file)},
        )
        assert paid_tx["err"] is None
        wait_for(lambda: _get(net, f"/invoices/{usdc['id']}")["status"] == "paid", "the USDC invoice paid", 90)
        wait_for(lambda: any(json.loads(b)["data"]["status"] == "paid" for _, b in hooks.received), "paid webhook")
    finally:
        hooks.close()
    secret = _get(net, "/webhooks/secret", orchestrator)["secret"]
    events = [json.loads(b) for _, b in hooks.received]
    for headers, raw in hooks.received:
        assert webhooks.verify(secret, raw, headers["x-iog-signature"])
        assert headers["x-iog-event-id"] == json.loads(raw)["id"]
    assert [e["data"]["status"] for e in events][-1] == "paid" and "seen" in [e["data"]["status"] for e in events]
    log = _get(net, f"/invoices/{usdc['id']}/webhooks", orchestrator)
    assert all(e["state"] == "delivered" and e["log"][0]["status_code"] == 204 for e in log["events"])
    wait_for(lambda: _balance(net, ledger.buyer(str(alice.pubkey())), "USDC") == 98 * USDC_UNIT, "USDC booked")
    assert _balance(net, ledger.FEES, "USDC") == 2 * USDC_UNIT
    assert net.token_balance(treasury_usdc) == 100 * USDC_UNIT

    # 3. A job on bob's node, metered over two epochs; completing it releases what is left.
    node_key = net.register_node(str(bob.pubkey()))
    price, budget = 36 * IO_UNIT // 10, 10 * IO_UNIT  # 3.6 IO per GPU-hour
    auth = {"Authorization": f"Bearer {orchestrator}"}
    with net.http() as http:
        r = http.post(
            "/jobs",
            headers=auth,
            json={
                "id": "job-e2e",
                "buyer": str(alice.pubkey()),
                "node": node_key,
                "currency": "IO",
                "price_per_gpu_hour": str(price),
                "gpu_units": 4,
                "budget": str(budget),
            },  # fmt: skip
        )
        assert r.status_code == 201, r.text
        t0 = 100 * EPOCH
        first = [(t0, 1_000), (t0 + 300, 777)]  # epoch 100
        second = [(t0 + EPOCH, 1_199)]  # epoch 101
        for batch in (first, second):
            recs = [{"job_id": "job-e2e", "node": node_key, "period_start": s, "period_end": s + 300,
                     "gpu_seconds": g} for s, g in batch]  # fmt: skip
            r = http.post("/telemetry/usage", headers=auth, json={"records": recs})
            assert [x["status"] for x in r.json()["results"]] == ["recorded"] * len(recs), r.text
            n = len(first) if batch is first else len(first) + len(second)
            wait_for(lambda n=n: len(_get(net, "/jobs/job-e2e", orchestrator)["charges"]) == n, "usage charged")
        done = http.post("/jobs/job-e2e/complete", headers=auth).json()
    seconds = 1_000 + 777 + 1_199
    compute = price * seconds // 3600
    bfee, pfee = compute * 25 // 10_000, compute * 25 // 10_000
    assert (done["status"], done["compute"], done["buyer_fees"], done["provider_fees"]) == (
        "completed", str(compute), str(bfee), str(pfee),
    )  # fmt: skip
    assert sum(int(c["compute"]) for c in done["charges"]) == compute
    assert _balance(net, ledger.buyer(str(alice.pubkey())), "IO") == 25 * IO_UNIT - compute - bfee
    assert _balance(net, ledger.buyer_reserved(str(alice.pubkey())), "IO") == 0
    earned = compute - pfee
    assert _balance(net, ledger.provider(str(bob.pubkey())), "IO") == earned

    # 4. The payout run is SIGKILLed between send and record; restarted, bob is paid exactly once.
    net.stop("watcher")  # only the payout runs resolve it
    bob_io = str(io_account(bob.pubkey(), Pubkey.from_string(net.boot["mint"])))
    before = net.token_balance(bob_io)
    crashed = net.iog("settlement", "payouts", "--fault", "kill-after-send")
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    with net.session() as s:
        (item,) = s.execute(select(SettlementTransfer).where(SettlementTransfer.kind == "payout")).scalars().all()
        reference, item_id = item.reference, item.id
        assert item.status == "sent" and item.amount == earned
        txrow = s.get(SettlementTx, item.tx_id)
        assert txrow is not None and txrow.status == "signed"  # sent, but the crash came before recording it
        signature = txrow.signature
    wait_for(lambda: net.client.get_signature_statuses([Signature.from_string(signature)]).value[0], "it landed")
    again = net.iog("settlement", "payouts", "--wait", "60")
    assert again.returncode == 0, again.stdout + again.stderr + dump_logs(net)
    out = as_json(again.stdout)
    assert out["planned"] == [] and out["blocked"] == []
    with net.session() as s:
        item = s.get(SettlementTransfer, item_id)
        assert item is not None and item.status == "finalized", item.status if item else None
    sigs = net.client.get_signatures_for_address(Pubkey.from_string(reference), commitment=Confirmed).value
    assert [str(x.signature) for x in sigs] == [signature]  # the one the crashed run sent; never re-sent
    assert net.token_balance(bob_io) - before == earned
    assert _balance(net, ledger.provider(str(bob.pubkey())), "IO") == 0
    net.start("watcher", "settlement", "watch")

    # 5. A refund of part of alice's IO balance arrives in her wallet.
    alice_io = str(io_account(alice.pubkey(), Pubkey.from_string(net.boot["mint"])))
    before = net.token_balance(alice_io)
    headers = {"Authorization": f"Bearer {alice_token}", "Idempotency-Key": "refund-1"}
    with net.http() as http:
        r = http.post("/refunds", headers=headers, json={"currency": "IO", "amount": str(5 * IO_UNIT)})
        assert r.status_code == 201, r.text
        refund = r.json()
        assert (
            http.post("/refunds", headers=headers, json={"currency": "IO", "amount": str(5 * IO_UNIT)}).json()["id"]
            == refund["id"]
        )
    wait_for(
        lambda: _get(net, f"/refunds/{refund['id']}", alice_token)["status"] == "finalized",
        "refund finalized",
        90,
    )
    assert net.token_balance(alice_io) - before == 5 * IO_UNIT

    # 6. The epoch's burn shows in /supply; the ledger check passes.
    supply_before = _get(net, "/supply")
    burned = net.iog("settlement", "burn", "--wait", "60")
    assert burned.returncode == 0, burned.stdout + burned.stderr
    fees_io = bfee + pfee
    expected_burn = fees_io * 5_000 // 10_000
    assert as_json(burned.stdout)["planned"] and as_json(burned.stdout)["finalized"]
    supply = wait_for(lambda: (s := _get(net, "/supply"))["burned"] == str(expected_burn) and s, "burn in /supply", 60)
    assert int(supply["supply"]) == int(supply_before["supply"]) - expected_burn
    assert int(supply["minted"]) == int(supply["supply"]) + expected_burn
    assert int(supply["circulating"]) == int(supply["supply"]) - sum(int(v) for v in supply["non_circulating"].values())
    checked = net.iog("ledger", "check", "--json", "--wait", "30")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = as_json(checked.stdout)
    io = next(c for c in report["currencies"] if c["currency"] == "IO")
    assert io["book_treasury"] == io["chain_treasury"] and report["ok"] is True


@pytest.mark.slow
def test_a_transfer_recorded_but_never_sent_is_signed_anew_after_expiry_and_paid_once(net: Net) -> None:
    """The worker dies after recording a refund's transaction and before sending it. Once the blockhash expired
    and nothing names the reference, the refund is signed anew; the old signature never lands; paid once."""
    alice = net.wallet("alice")
    mint = Pubkey.from_string(net.boot["mint"])
    alice_io = io_account(alice.pubkey(), mint)
    # A plain deposit (no invoice): booked to alice's balance, so she can be refunded.
    ix = transfer_checked_ix(alice_io, mint, Pubkey.from_string(net.boot["treasury"]), alice.pubkey(), 3 * IO_UNIT, 8)
    sig = chain_tx.send_and_confirm(net.client, alice, [ix], commitment=Confirmed)
    wait_for(lambda: _balance(net, ledger.buyer(str(alice.pubkey())), "IO") == 3 * IO_UNIT, "deposit booked", 60)
    net.stop("watcher")
    token = net.sign_in("alice")
    with net.http() as http:
        r = http.post(
            "/refunds",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "r-expiry"},
            json={"currency": "IO"},
        )
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["amount"] == str(3 * IO_UNIT) and refund["status"] == "planned"
    crashed = net.iog("settlement", "pass", "--fault", "kill-before-send")
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    with net.session() as s:
        (first,) = s.execute(select(SettlementTx)).scalars().all()
        assert first.status == "signed"
        old_sig, last_valid = first.signature, first.last_valid_block_height
    wait_for(lambda: net.client.get_block_height(Finalized).value > last_valid, "the blockhash expired", 60, 0.2)
    before = net.token_balance(str(alice_io))
    resumed = net.iog("settlement", "pass")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert as_json(resumed.stdout)["sent"]["expired"] == 1
    net.start("watcher", "settlement", "watch")
    wait_for(lambda: _get(net, f"/refunds/{refund['id']}", token)["status"] == "finalized", "refund finalized", 90)
    assert net.token_balance(str(alice_io)) - before == 3 * IO_UNIT
    assert net.client.get_signature_statuses([Signature.from_string(old_sig)], True).value[0] is None
    with net.session() as s:
        rows = {t.signature: t.status for t in s.execute(select(SettlementTx)).scalars()}
    assert rows[old_sig] == "expired" and sorted(rows.values()) == ["expired", "finalized"]
    refs = net.client.get_signatures_for_address(Pubkey.from_string(refund["reference"]), commitment=Confirmed).value
    assert len(refs) == 1 and str(refs[0].signature) != old_sig and sig
    checked = net.iog("ledger", "check", "--wait", "30")
    assert checked.returncode == 0, checked.stdout + checked.stderr
