"""Metering: each usage record charged once, exactly (remainders carried, nothing lost or invented), fees on both
sides, capacity and budget caps; jobs and refunds through the API (who may, idempotency, typed errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from sqlalchemy import Engine

from backend.db import make_sessionmaker, session_scope
from backend.ledger import service as ledger
from backend.models.nodes import NodeRecord
from backend.models.settlement import Job
from backend.settlement.jobs import Totals, compute_charge
from tests.backend.settlement.apiharness import Api, make_api

BPS = 10_000


def _job(price: int, budget: int, units: int = 8, bb: int = 25, bp: int = 25) -> Job:
    return Job(id="j", buyer="b", node="n", operator="o", currency="IO", price_per_gpu_hour=price, gpu_units=units,
               budget=budget, buyer_fee_bps=bb, provider_fee_bps=bp, status="running")  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    price=st.integers(0, 10**12),
    records=st.lists(st.integers(0, 28_800), min_size=1, max_size=40),
    bb=st.integers(0, 1_000),
    bp=st.integers(0, 1_000),
)
def test_charges_sum_exactly_to_the_charge_of_the_total(price: int, records: list[int], bb: int, bp: int) -> None:
    job = _job(price, 2**62, bb=bb, bp=bp)
    t = Totals()
    parts = []
    for g in records:
        c = compute_charge(job, t, "n", g, 3_600)
        assert c.compute >= 0 and c.buyer_fee >= 0 and c.provider_fee >= 0
        parts.append(c)
        t = c.after
    total = sum(records)
    compute = price * total // 3600
    assert sum(p.compute for p in parts) == compute
    assert sum(p.buyer_fee for p in parts) == compute * bb // BPS
    assert sum(p.provider_fee for p in parts) == compute * bp // BPS
    # What the buyer pays = what the provider earns + what the fees get, charge by charge.
    for p in parts:
        assert (p.compute + p.buyer_fee) == (p.compute - p.provider_fee) + (p.buyer_fee + p.provider_fee)


@settings(max_examples=300, deadline=None)
@given(
    price=st.integers(1, 10**12), budget=st.integers(0, 10**12), records=st.lists(st.integers(0, 28_800), max_size=20)
)
def test_the_budget_is_never_exceeded(price: int, budget: int, records: list[int]) -> None:
    job = _job(price, budget)
    t = Totals()
    for g in records:
        c = compute_charge(job, t, "n", g, 3_600)
        t = c.after
        assert t.gross <= budget
        if c.budget_spent:
            # Spent: one more base unit of compute (with its fee) would not have fit.
            nxt = t.compute + 1
            assert nxt + nxt * 25 // BPS > budget or t.compute == price * t.seconds // 3600
            break


def test_records_of_another_node_or_beyond_capacity_are_not_billed() -> None:
    job = _job(3_600, 10**12, units=2)
    assert compute_charge(job, Totals(), "other", 100, 60).billed_seconds == 0
    c = compute_charge(job, Totals(), "n", 500, 60)
    assert (c.billed_seconds, c.compute) == (120, 120) and "capped" in (c.note or "")


@pytest.fixture
def api(db_url: str, db_engine: Engine, tmp_path: Path) -> Api:
    return make_api(db_url, tmp_path)


def _fund(engine: Engine, buyer: str, amount: int, currency: str = "IO") -> None:
    """A buyer's balance, as a booked deposit would leave it."""
    with session_scope(make_sessionmaker(engine)) as s:
        ledger.post(
            s,
            ledger.EntrySpec(
                f"test:{buyer}:{currency}",
                "test",
                "x",
                (ledger.debit(ledger.TREASURY, currency, amount), ledger.credit(ledger.buyer(buyer), currency, amount)),
            ),
            0,
        )  # fmt: skip


def _node(engine: Engine, operator: str) -> str:
    key = str(Keypair().pubkey())
    with session_scope(make_sessionmaker(engine)) as s:
        s.add(NodeRecord(node_key=key, node=str(Keypair().pubkey()), operator=operator, name="n", gpu_model="H100",
                         gpu_units=8, vram_gb=80, region="eu", description=None, commission_bps=0, status="registered",
                         created_at=0, updated_at=0))  # fmt: skip
    return key


class TestJobsApi:
    def test_start_meter_complete(self, api: Api, db_engine: Engine) -> None:
        buyer, op = Keypair(), str(Keypair().pubkey())
        _fund(db_engine, str(buyer.pubkey()), 10_000)
        node = _node(db_engine, op)
        _, key = api.key()
        body = {"id": "j1", "buyer": str(buyer.pubkey()), "node": node, "currency": "IO", "price_per_gpu_hour": "3600",
                "gpu_units": 1, "budget": "5000"}  # fmt: skip
        r = api.client.post("/jobs", json=body, headers=key)
        assert r.status_code == 201, r.text
        assert api.client.post("/jobs", json=body, headers=key).status_code == 201  # the same request: same job
        assert api.client.post("/jobs", json={**body, "budget": "6000"}, headers=key).status_code == 409
        rec = {"job_id": "j1", "node": node, "period_start": 0, "period_end": 3_600, "gpu_seconds": 1_000}
        assert api.client.post("/telemetry/usage", json=rec, headers=key).json()["results"][0]["status"] == "recorded"
        done = api.client.post("/jobs/j1/complete", headers=key).json()
        assert (done["status"], done["compute"], done["buyer_fees"], done["provider_fees"]) == ("completed", "1000",
                                                                                                "2", "2")  # fmt: skip
        with session_scope(make_sessionmaker(db_engine)) as s:
            assert ledger.balance(s, ledger.buyer(str(buyer.pubkey())), "IO") == 10_000 - 1_002
            assert ledger.balance(s, ledger.provider(op), "IO") == 998
            assert ledger.balance(s, ledger.FEES, "IO") == 4
        again = api.client.post("/jobs/j1/complete", headers=key).json()
        assert again["status"] == "completed" and again["compute"] == "1000"
        # The buyer reads their own job; another wallet may not.
        assert api.client.get("/jobs/j1", headers=api.sign_in(buyer)).status_code == 200
        assert api.client.get("/jobs/j1", headers=api.sign_in(Keypair())).status_code == 403

    @pytest.mark.parametrize(
        ("change", "status"),
        [
            ({"budget": "999999999"}, 409),  # more than the balance
            ({"node": "unknown"}, 422),
            ({"gpu_units": 0}, 422),
            ({"price_per_gpu_hour": "1.5"}, 422),
            ({"currency": "DOGE"}, 422),
            ({"id": ""}, 422),
        ],
    )
    def test_refused_jobs_reserve_nothing(self, api: Api, db_engine: Engine, change: dict, status: int) -> None:
        buyer = str(Keypair().pubkey())
        _fund(db_engine, buyer, 10_000)
        node = _node(db_engine, str(Keypair().pubkey()))
        _, key = api.key()
        body = {"id": "j2", "buyer": buyer, "node": node, "currency": "IO", "price_per_gpu_hour": "1", "gpu_units": 1,
                "budget": "5000", **change}  # fmt: skip
        if body["node"] == "unknown":
            body["node"] = str(Keypair().pubkey())
        r = api.client.post("/jobs", json=body, headers=key)
        assert r.status_code == status, r.text
        with session_scope(make_sessionmaker(db_engine)) as s:
            assert ledger.balance(s, ledger.buyer(buyer), "IO") == 10_000


class TestRefundsApi:
    def test_a_refund_is_recorded_once_per_key(self, api: Api, db_engine: Engine) -> None:
        buyer = Keypair()
        _fund(db_engine, str(buyer.pubkey()), 700)
        me = api.sign_in(buyer)
        r = api.client.post(
            "/refunds", json={"currency": "IO", "amount": "300"}, headers={**me, "Idempotency-Key": "a"}
        )
        assert r.status_code == 201, r.text
        refund = r.json()
        assert (refund["status"], refund["amount"], refund["owner"]) == ("planned", "300", str(buyer.pubkey()))
        same = api.client.post(
            "/refunds", json={"currency": "IO", "amount": "300"}, headers={**me, "Idempotency-Key": "a"}
        )
        assert same.json()["id"] == refund["id"]
        other = api.client.post(
            "/refunds", json={"currency": "IO", "amount": "1"}, headers={**me, "Idempotency-Key": "a"}
        )
        assert other.status_code == 409
        too_much = api.client.post("/refunds", json={"currency": "IO", "amount": "401"},
                                   headers={**me, "Idempotency-Key": "b"})  # fmt: skip
        assert (too_much.status_code, too_much.json()["error"]) == (409, "InsufficientBalance")
        rest = api.client.post("/refunds", json={"currency": "IO"}, headers={**me, "Idempotency-Key": "c"}).json()
        assert rest["amount"] == "400"
        with session_scope(make_sessionmaker(db_engine)) as s:
            assert ledger.balance(s, ledger.buyer(str(buyer.pubkey())), "IO") == 0
            assert ledger.balance(s, ledger.REFUNDS_PENDING, "IO") == 700
        assert api.client.get(f"/refunds/{refund['id']}", headers=me).json()["status"] == "planned"
        assert api.client.get(f"/refunds/{refund['id']}", headers=api.sign_in(Keypair())).status_code == 403

    @pytest.mark.parametrize(
        ("headers", "body", "status"),
        [
            ({}, {"currency": "IO"}, 422),  # no Idempotency-Key
            ({"Idempotency-Key": "k"}, {"currency": "IO", "amount": "0"}, 422),
            ({"Idempotency-Key": "k"}, {"currency": "IO", "amount": "-5"}, 422),
            ({"Idempotency-Key": "k" * 101}, {"currency": "IO"}, 422),
            ({"Idempotency-Key": "k"}, {"currency": "IO"}, 409),  # nothing to refund
        ],
    )
    def test_refused_refunds(self, api: Api, headers: dict, body: dict, status: int) -> None:
        r = api.client.post("/refunds", json=body, headers={**api.sign_in(Keypair()), **headers})
        assert r.status_code == status, r.text

    def test_refunds_are_for_signed_in_buyers(self, api: Api) -> None:
        r = api.client.post("/refunds", json={"currency": "IO"}, headers={**api.key()[1], "Idempotency-Key": "k"})
        assert r.status_code == 403


def test_concurrent_refunds_cannot_overdraw(db_url: str, db_engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    """Two refunds of the whole balance at once: one is recorded, the other refused; the balance never goes
    negative. The first reader waits (up to 2 s) for the second to read too, so without a lock both would read
    the same balance."""
    import threading

    from backend.chain import bootfile
    from backend.chain.treasury import from_bootfile
    from backend.settlement import transfers
    from backend.settlement.jobs import InsufficientBalance
    from tests.backend.settlement.apiharness import synthetic_bootfile

    synthetic_bootfile(tmp_path / "boot.json")
    treasury = from_bootfile(bootfile.load(tmp_path / "boot.json"))
    buyer = str(Keypair().pubkey())
    _fund(db_engine, buyer, 500)
    both_read = threading.Barrier(2)
    real_balance = ledger.balance

    def slow_balance(session: Any, name: str, currency: str) -> int:
        value = real_balance(session, name, currency)
        try:
            both_read.wait(timeout=2)  # wait for the other request to read too (it cannot, if it is locked out)
        except threading.BrokenBarrierError:
            pass
        return value

    monkeypatch.setattr(ledger, "balance", slow_balance)
    factory = make_sessionmaker(db_engine)
    outcomes: list[str] = []

    def request(key: str) -> None:
        try:
            with session_scope(factory) as s:
                transfers.request_refund(s, treasury, buyer=buyer, currency="IO", amount=None, idempotency_key=key,
                                         now=0)  # fmt: skip
            outcomes.append("recorded")
        except InsufficientBalance:
            outcomes.append("refused")

    threads = [threading.Thread(target=request, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    monkeypatch.setattr(ledger, "balance", real_balance)
    with session_scope(factory) as s:
        assert ledger.balance(s, ledger.buyer(buyer), "IO") == 0
        assert ledger.balance(s, ledger.REFUNDS_PENDING, "IO") == 500
    assert sorted(outcomes) == ["recorded", "refused"]
