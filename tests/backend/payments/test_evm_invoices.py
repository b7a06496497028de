"""USDC-EVM invoices end to end against anvil: a buyer pays through the router -> seen -> paid after N blocks,
booked once; overpaid, partial, expired and late as on Solana; a refund to the payer arrives on chain and is
booked; unmatched transfers; the ledger check of the EVM treasury; typed errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from backend.db import make_sessionmaker, session_scope
from backend.ledger import service as ledger
from backend.models.ledger import LedgerEntry
from backend.models.payments import Invoice, WebhookEvent
from tests.backend.payments.evmrig import EVM, USDC, Rig, evm_differences, make_rig
from tests.backend.settlement.apiharness import make_api
from tests.fixtures.evm import EvmDeployment


@pytest.fixture
def rig(db_url: str, db_engine: Engine, tmp_path: Path, evm_deployment: EvmDeployment) -> Rig:
    return make_rig(db_url, tmp_path, evm_deployment)


def _entries(rig: Rig, prefix: str) -> int:
    with session_scope(make_sessionmaker(rig.engine)) as s:
        q = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.idempotency_key.startswith(prefix))
        return int(s.execute(q).scalar_one())


class TestPaidThroughTheRouter:
    def test_seen_at_one_confirmation_paid_at_n_booked_once(self, rig: Rig) -> None:
        key_id, key = rig.api.key()
        buyer = rig.buyer()[0]
        inv = rig.invoice(key, 12 * USDC, buyer=str(buyer.pubkey()), callback_url="http://127.0.0.1:9/hook",
                          description="GPU hours")
        instr, watch = inv["payment_instructions"], rig.rail.watch
        assert instr == {"chain_id": watch.chain_id, "router": watch.router, "token": watch.token,
                         "invoice_id": inv["reference"], "amount": str(12 * USDC)}
        assert len(instr["invoice_id"]) == 66 and inv["solana_pay_url"] is None
        assert inv["transaction_request_url"] is None and inv["fee_bps"] == 200
        assert inv["eip681_url"] == (f"ethereum:{watch.router}@{watch.chain_id}/pay?bytes32={instr['invoice_id']}"
                                     f"&uint256={12 * USDC}")
        assert inv["eip681_links"]["approve"].startswith(f"ethereum:{watch.token}@{watch.chain_id}/approve?")
        assert (inv["status"], inv["as_of_block"], inv["confirmations_required"]) == ("open", None, rig.n)

        receipt = rig.pay("alice", inv)
        rig.index()
        seen = rig.get(inv["id"])
        assert (seen["status"], seen["pending"], seen["paid"]) == ("seen", str(12 * USDC), "0")
        (t,) = seen["transfers"]
        assert (t["signature"], t["status"], t["source_owner"]) == (
            receipt["transactionHash"], "pending", rig.dep.boot.buyer("alice").address)  # type: ignore[union-attr]
        assert seen["as_of_block"] == int(receipt["blockNumber"], 16)
        assert rig.settle().status_changes == 1  # open -> seen, stored (webhook queued)
        assert rig.balance(ledger.buyer(str(buyer.pubkey()))) == 0  # seen is never money

        rig.dep.mine(rig.n - 2)
        rig.index()
        assert rig.get(inv["id"])["status"] == "seen"  # N-1 confirmations
        rig.dep.mine(1)
        rig.index()
        paid = rig.get(inv["id"])
        assert (paid["status"], paid["paid"], paid["pending"], paid["flags"]) == ("paid", str(12 * USDC), "0", [])
        assert paid["transfers"][0]["status"] == "finalized"
        result = rig.settle()
        assert (result.status_changes, result.payments_booked) == (1, 1)
        fee = 12 * USDC * 200 // 10_000
        assert rig.balance(ledger.buyer(str(buyer.pubkey()))) == 12 * USDC - fee
        assert rig.balance(ledger.FEES) == fee
        for _ in range(2):  # repeats book nothing twice
            rig.settle()
        assert _entries(rig, "payment:") == 1

        with session_scope(make_sessionmaker(rig.engine)) as s:
            events = s.scalars(select(WebhookEvent).where(WebhookEvent.invoice_id == inv["id"])
                               .order_by(WebhookEvent.created_at, WebhookEvent.id)).all()
            statuses = sorted((json.loads(e.body)["data"]["previous_status"], json.loads(e.body)["data"]["status"])
                              for e in events)
            assert s.get(Invoice, inv["id"]).status == "paid"  # type: ignore[union-attr]
        assert statuses == [("open", "seen"), ("seen", "paid")]
        report, cur = rig.check()
        assert evm_differences(report) == [], report.differences
        assert cur.book_treasury == cur.chain_treasury == rig.token_balance(watch.treasury) == 12 * USDC

    def test_overpaid_partial_expired_and_late_as_on_solana(self, rig: Rig) -> None:
        buyer, headers = rig.buyer()
        over = rig.invoice(headers, 5 * USDC)
        part = rig.invoice(headers, 5 * USDC)
        late = rig.invoice(headers, 3 * USDC, expires_in=60)
        never = rig.invoice(headers, 3 * USDC, expires_in=60)
        rig.pay("alice", over, 7 * USDC)
        rig.pay("bob", part, 2 * USDC)
        # The late payment lands in a block stamped after the invoice's expiry.
        latest = rig.dep.client.block("latest")
        assert latest is not None
        stamp = max(late["expires_at"] + 5, latest.timestamp + 1)
        rig.dep.client.request("evm_setNextBlockTimestamp", [stamp])
        rig.pay("carol", late)
        rig.api.now = stamp + 10
        rig.confirm()
        got = {k: rig.get(v["id"]) for k, v in {"over": over, "part": part, "late": late, "never": never}.items()}
        assert (got["over"]["status"], got["over"]["excess"]) == ("overpaid", str(2 * USDC))
        assert (got["part"]["status"], got["part"]["paid"]) == ("partially_paid", str(2 * USDC))
        assert (got["late"]["status"], got["late"]["flags"]) == ("paid", ["late"])
        assert got["late"]["transfers"][0]["late"] is True
        assert (got["never"]["status"], got["never"]["paid"]) == ("expired", "0")
        # Everything credited, late and excess included, on the buyer's balance (minus the 2% fee).
        credited = 7 * USDC + 2 * USDC + 3 * USDC
        assert rig.balance(ledger.buyer(str(buyer.pubkey()))) == credited - credited * 200 // 10_000
        assert _entries(rig, "payment:") == 3
        with session_scope(make_sessionmaker(rig.engine)) as s:
            stored = {i.id: (i.status, i.flags) for i in s.scalars(select(Invoice))}
        assert stored[late["id"]] == ("paid", "late") and stored[never["id"]] == ("expired", "")
        report, cur = rig.check()
        assert evm_differences(report) == [] and cur.book_treasury == cur.chain_treasury == credited

    def test_a_refund_goes_back_to_the_payer_on_chain_once(self, rig: Rig) -> None:
        buyer, headers = rig.buyer()
        inv = rig.invoice(headers, 4 * USDC)
        rig.pay("bob", inv, 10 * USDC)
        rig.confirm()
        bob = rig.dep.boot.buyer("bob")
        assert bob is not None
        before = rig.token_balance(bob.address)
        r = rig.api.client.post("/refunds", json={"currency": EVM, "amount": str(6 * USDC)},
                                headers={**headers, "Idempotency-Key": "r1"})
        assert r.status_code == 201, r.text
        refund = r.json()
        assert (refund["destination"], refund["status"]) == (bob.address, "planned")
        again = rig.api.client.post("/refunds", json={"currency": EVM, "amount": str(6 * USDC)},
                                    headers={**headers, "Idempotency-Key": "r1"})
        assert again.json()["id"] == refund["id"]
        sent = rig.send()
        assert sent["recorded"] == 1
        for _ in range(2):  # sending again resends nothing: the recorded transaction is looked up first
            rig.send()
        assert rig.token_balance(bob.address) == before + 6 * USDC
        rig.confirm()
        done = rig.api.client.get(f"/refunds/{refund['id']}", headers=headers).json()
        assert done["status"] == "finalized" and done["signature"].startswith("0x")
        assert rig.balance(ledger.REFUNDS_PENDING) == 0 and _entries(rig, "refund:") == 2  # plan + booked
        treasury = rig.rail.watch.treasury
        report, cur = rig.check()
        assert evm_differences(report) == [], report.differences
        assert cur.book_treasury == cur.chain_treasury == rig.token_balance(treasury) == 4 * USDC

    def test_a_refund_only_goes_to_an_address_that_paid(self, rig: Rig) -> None:
        _, headers = rig.buyer()
        inv = rig.invoice(headers, 4 * USDC)
        rig.pay("bob", inv)
        rig.confirm()
        carol = rig.dep.boot.buyer("carol")
        assert carol is not None
        for body, code in [({"to": carol.address}, 422), ({"to": "0x1234"}, 422), ({"amount": str(10**12)}, 409)]:
            r = rig.api.client.post("/refunds", json={"currency": EVM, **body},
                                    headers={**headers, "Idempotency-Key": json.dumps(body)[:90]})
            assert r.status_code == code, r.text
            assert r.json()["error"] in ("InvalidInput", "InsufficientBalance")
        assert rig.balance(ledger.REFUNDS_PENDING) == 0


class TestTreasuryBooks:
    def test_unmatched_transfers_and_unknown_invoices_are_held_for_their_sender(self, rig: Rig) -> None:
        watch = rig.rail.watch
        rig.dep.transfer("alice", watch.treasury, 3 * USDC)
        rig.dep.pay("bob", b"\x07" * 32, 2 * USDC)  # names no invoice of ours
        rig.confirm()
        alice, bob = rig.dep.boot.buyer("alice"), rig.dep.boot.buyer("bob")
        assert alice is not None and bob is not None
        assert rig.balance(ledger.unmatched(alice.address)) == 3 * USDC
        assert rig.balance(ledger.unmatched(bob.address)) == 2 * USDC
        rig.settle()
        assert _entries(rig, "unmatched:") == 2
        report, cur = rig.check()
        assert evm_differences(report) == [] and cur.book_treasury == cur.chain_treasury == 5 * USDC

    def test_the_check_sees_a_treasury_the_books_do_not_explain(self, rig: Rig) -> None:
        _, headers = rig.buyer()
        rig.pay("alice", rig.invoice(headers, 2 * USDC))
        rig.dep.mine(rig.n)
        rig.index()  # indexed, not booked yet: a pending difference
        report, cur = rig.check()
        assert [d.startswith("pending:") for d in evm_differences(report)] == [True]
        rig.settle()
        report, cur = rig.check()
        assert evm_differences(report) == []
        # Money booked with no chain movement behind it is a real difference.
        with session_scope(make_sessionmaker(rig.engine)) as s:
            ledger.post(s, ledger.EntrySpec("test:phantom", "test", "x", (
                ledger.debit(ledger.TREASURY, EVM, 5), ledger.credit(ledger.FEES, EVM, 5)),
                chain=ledger.ChainLink("0x" + "ab" * 32, "0", cur.as_of_block or 0)), rig.api.now)
        report, _ = rig.check()
        (diff,) = evm_differences(report)
        assert not diff.startswith("pending:") and "balanceOf(treasury)" in diff

    def test_without_the_rail_the_check_says_so_and_passes(self, db_url: str, db_engine: Engine,
                                                            tmp_path: Path) -> None:
        from backend.chain import treasury as treasury_mod
        from backend.ledger.check import check
        from backend.ledger.runtime import evm_input

        api = make_api(db_url, tmp_path)
        settings = api.client.app.state.settings  # type: ignore[attr-defined]
        with session_scope(make_sessionmaker(db_engine)) as s:
            report = check(s, treasury_mod.load(settings), None, evm_input(s, settings))
        assert report.notes == [f"USDC-EVM: the EVM rail is not configured (no EVM bootstrap file at "
                                f"{settings.resolved_evm_bootstrap_file}): not checked"]
        assert evm_differences(report) == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"amount": "-5"}, 422),
            ({"amount": "1.5"}, 422),
            ({"amount": "0"}, 422),
            ({"amount": str(2**64)}, 422),
            ({"amount": "10", "currency": "USDC-ETH"}, 422),
            ({"amount": "10", "reference": "0x" + "00" * 32}, 422),
            ({"amount": "10", "expires_in": 5}, 422),
        ],
    )
    def test_bad_invoices_are_typed_errors_and_change_nothing(self, rig: Rig, body: dict, code: int) -> None:
        _, headers = rig.buyer()
        r = rig.api.client.post("/invoices", json={"currency": EVM, **body}, headers=headers)
        assert r.status_code == code, r.text
        assert set(r.json()) == {"error", "detail"}
        with session_scope(make_sessionmaker(rig.engine)) as s:
            assert s.execute(select(func.count()).select_from(Invoice)).scalar_one() == 0

    def test_malformed_and_unknown_invoice_ids(self, rig: Rig) -> None:
        for bad in ("0x12", "0x" + "zz" * 32, "inv_" + "0" * 24, "x" * 300):
            r = rig.api.client.get(f"/invoices/{bad}")
            assert r.status_code == 404 and r.json()["error"] == "NotFound", r.text

    def test_the_solana_transaction_request_refuses_an_evm_invoice(self, rig: Rig) -> None:
        _, headers = rig.buyer()
        inv = rig.invoice(headers, USDC)
        r = rig.api.client.post(f"/tx/pay-invoice?invoice={inv['id']}", json={"account": str(rig.buyer()[0].pubkey())})
        assert r.status_code in (409, 422) and r.json()["error"] == "WrongRail", r.text

    def test_without_the_rail_usdc_evm_is_unavailable(self, db_url: str, db_engine: Engine, tmp_path: Path) -> None:
        from solders.keypair import Keypair

        api = make_api(db_url, tmp_path)
        r = api.client.post("/invoices", json={"amount": "10", "currency": EVM}, headers=api.sign_in(Keypair()))
        assert r.status_code == 422 and r.json()["error"] == "EvmRailNotConfigured", r.text


class TestRefundCrashes:
    @pytest.mark.parametrize("crash", ["after_record", "after_send"])
    def test_a_refund_interrupted_anywhere_is_paid_exactly_once(self, rig: Rig, crash: str) -> None:
        from backend.evm import service as evm_service

        _, headers = rig.buyer()
        rig.pay("bob", rig.invoice(headers, USDC), 3 * USDC)
        rig.confirm()
        bob = rig.dep.boot.buyer("bob")
        assert bob is not None
        before = rig.token_balance(bob.address)
        r = rig.api.client.post("/refunds", json={"currency": EVM}, headers={**headers, "Idempotency-Key": "k"})
        refund = r.json()
        # The worker died after the sender committed the signed transaction (and, maybe, after sending it),
        # before the refund row moved on.
        sender = evm_service.treasury_sender(make_sessionmaker(rig.engine), rig.rail)
        token, data = evm_service.transfer_data(rig.rail, bob.address, int(refund["amount"]))
        key = f"refund:{refund['id']}"
        sender.record(key, token, data) if crash == "after_record" else sender.submit(key, token, data)
        assert rig.api.client.get(f"/refunds/{refund['id']}", headers=headers).json()["status"] == "planned"
        for _ in range(3):  # the restarted worker, several passes
            rig.send()
        rig.confirm()
        rig.send()
        assert rig.token_balance(bob.address) == before + int(refund["amount"])
        assert rig.api.client.get(f"/refunds/{refund['id']}", headers=headers).json()["status"] == "finalized"
        report, cur = rig.check()
        assert evm_differences(report) == [] and cur.book_treasury == cur.chain_treasury == 3 * USDC * 200 // 10_000
