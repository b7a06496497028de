"""A hypothesis state machine over the whole settlement: invoices paid exactly, partially, over, late, with the
wrong mint, in failed and version-0 transactions, plain deposits; jobs with usage (wrong node, over capacity, over
budget); refunds (replayed); payouts; burns; the treasury sender losing transactions, failing them, and crashing
between send and record. After every step: every entry balances, the book equals an independent model of every
account, no balance is negative, invoice statuses are the model's, and after each settlement pass the ledger check
passes against the chain.

The chain is :class:`tests.backend.settlement.fakechain.FakeChain` (see its docstring for why), whose
transactions go through the real indexer decoder and writer; everything else is the real code on the real
database (SQLite, or PostgreSQL with IOG_TEST_DATABASE_URL).
"""

from __future__ import annotations

import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend import migrate
from backend.chain.tokens import memo_instruction, transfer_checked_ix
from backend.chain.treasury import Currency, Treasury
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.ledger import service as ledger
from backend.ledger.check import check, short_entries, unbalanced_entries
from backend.models.nodes import NodeRecord
from backend.models.settlement import SettlementTransfer
from backend.payments import invoices
from backend.settlement import burn as burn_mod
from backend.settlement import jobs, outgoing, sync, transfers
from backend.telemetry import service as telemetry
from backend.telemetry.schemas import UsageIn
from indexer.decode import DecodeContext
from tests.backend.settlement.fakechain import Crash, FakeChain
from tests.fixtures.db import TEST_DATABASE_URL

IO, USDC = "IO", "USDC"
DEC = {IO: 8, USDC: 6}
BPS = 10_000


def fresh_engine(tmp: Path) -> tuple[Engine, Any]:
    """A migrated database of its own for one example (SQLite: a copy of a migrated template)."""
    if not TEST_DATABASE_URL:
        template = tmp / "template.db"
        if not template.exists():
            e = make_engine(f"sqlite:///{template}")
            migrate.upgrade(e)
            e.dispose()
        path = tmp / f"{uuid.uuid4().hex}.db"
        shutil.copy(template, path)
        return make_engine(f"sqlite:///{path}"), lambda: path.unlink(missing_ok=True)
    schema = f"sm_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    engine = make_engine(f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{schema}")
    migrate.upgrade(engine)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return engine, drop


@dataclass
class InvoiceModel:
    id: str
    buyer: str
    currency: str
    amount: int
    fee_bps: int
    expires_at: int
    reference: str
    credits: list[tuple[str, int]] = field(default_factory=list)  # (signature, amount)
    late: bool = False
    wrong_mint: bool = False


@dataclass
class JobModel:
    id: str
    buyer: str
    node: str
    operator: str
    currency: str
    price: int
    units: int
    budget: int
    seconds: int = 0
    compute: int = 0
    bfee: int = 0
    pfee: int = 0
    running: bool = True
    next_period: int = 0
    usage: list[tuple[int, str, int, int]] = field(default_factory=list)  # (period, node, gpu_seconds, duration)


class Settlement(RuleBasedStateMachine):
    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        self.engine, self.drop = fresh_engine(self.tmp)
        self.factory: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.kp = Keypair()
        key_file = self.tmp / f"treasury-{uuid.uuid4().hex}.json"
        key_file.write_text(self.kp.to_json())
        self.mints = {IO: str(Keypair().pubkey()), USDC: str(Keypair().pubkey())}
        self.settings = Settings(
            database_url=str(self.engine.url),
            payout_threshold_io=1_000,
            payout_threshold_usdc=1_000,
            burn_share_bps=5_000,
            epoch_seconds=3_600,
            _env_file=None,
        )  # type: ignore[call-arg]
        accounts: dict[str, str] = {}
        self.chain = FakeChain(self.engine, DecodeContext(frozenset()), {m: DEC[c] for c, m in self.mints.items()})
        for cur, mint in self.mints.items():
            accounts[cur] = self.chain.open_account(self.kp.pubkey(), mint)
        self.chain.ctx = DecodeContext(watched=frozenset(accounts.values()), io_mint=self.mints[IO])
        self.treasury = Treasury(
            owner=str(self.kp.pubkey()),
            keypair_path=key_file,
            currencies={c: Currency(c, self.mints[c], DEC[c], accounts[c]) for c in (IO, USDC)},
        )
        self.buyers = [Keypair() for _ in range(3)]
        for b in self.buyers:
            for mint in self.mints.values():
                self.chain.open_account(b.pubkey(), mint, 10**12)
        self.operators = [Keypair() for _ in range(2)]
        self.nodes: dict[str, str] = {}
        with session_scope(self.factory) as s:
            for op in self.operators:
                node_key = str(Keypair().pubkey())
                self.nodes[node_key] = str(op.pubkey())
                s.add(
                    NodeRecord(
                        node_key=node_key,
                        node=str(Keypair().pubkey()),
                        operator=str(op.pubkey()),
                        name="n",
                        gpu_model="H100",
                        gpu_units=8,
                        vram_gb=80,
                        region="eu",
                        description=None,
                        commission_bps=0,
                        status="registered",
                        created_at=0,
                        updated_at=0,
                    )  # fmt: skip
                )
        self.chain.finalize()
        # --- the model ---
        self.book: dict[tuple[str, str], int] = defaultdict(int)
        self.fee_income = {IO: 0, USDC: 0}
        self.burn_planned = 0
        self.invoices: list[InvoiceModel] = []
        self.effects: dict[str, list[tuple[str, str, int]]] = {}  # user tx -> postings at finalized+pass
        self.effects_fees: dict[str, tuple[str, int]] = {}
        self.applied: set[str] = set()
        self.jobs: list[JobModel] = []
        self.items: dict[str, tuple[str, str, str, int]] = {}  # reference/"burn:e" -> (kind, account, cur, amount)
        self.voided: set[str] = set()
        self.epoch = 0
        self.refund_keys: list[tuple[str, str, str, int | None]] = []

    def teardown(self) -> None:
        self.engine.dispose()
        self.drop()

    # --- helpers --------------------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.chain.clock

    def move(self, account: str, cur: str, delta: int) -> None:
        self.book[(account, cur)] += delta

    def ata(self, owner: Pubkey, cur: str) -> Pubkey:
        from backend.chain.tokens import io_account

        return io_account(owner, Pubkey.from_string(self.mints[cur]))

    def fee(self, cur: str) -> int:
        return self.settings.fee_payment_usdc_bps if cur == USDC else self.settings.fee_payment_io_bps

    @initialize()
    def seed(self) -> None:
        """Buyers start with balances (deposits, booked at finalized), so every rule has something to act on."""
        for i in range(len(self.buyers)):
            self.deposit(i, IO, 10**10)
            self.deposit(i, USDC, 10**9)
        self.settle(True)

    # --- invoices and payments -------------------------------------------------------------------------------

    @rule(buyer=st.integers(0, 2), cur=st.sampled_from([IO, USDC]), amount=st.integers(1, 10**9),
          expires_in=st.integers(60, 3_600))  # fmt: skip
    def create_invoice(self, buyer: int, cur: str, amount: int, expires_in: int) -> None:
        with session_scope(self.factory) as s:
            inv = invoices.create(
                s, self.settings, self.treasury, buyer=str(self.buyers[buyer].pubkey()), created_by="test",
                api_key_id=None, amount=amount, currency=cur, description="", expires_in=expires_in,
                callback_url=None, job_id=None, now=self.now,
            )  # fmt: skip
            self.invoices.append(
                InvoiceModel(inv.id, inv.buyer, cur, amount, inv.fee_bps, inv.expires_at, inv.reference)
            )

    @precondition(lambda self: self.invoices)
    @rule(
        pick=st.integers(0, 10**6),
        payer=st.integers(0, 2),
        kind=st.sampled_from(["exact", "partial", "over", "wrong_mint", "failed"]),
        late=st.booleans(),
        v0=st.booleans(),
    )
    def pay(self, pick: int, payer: int, kind: str, late: bool, v0: bool) -> None:
        inv = self.invoices[pick % len(self.invoices)]
        if late and self.now <= inv.expires_at:
            self.chain.advance((inv.expires_at - self.now) // 10 + 1)
        cur = inv.currency if kind != "wrong_mint" else (USDC if inv.currency == IO else IO)
        amount = {"exact": inv.amount, "partial": max(1, inv.amount // 3), "over": inv.amount + 7}.get(kind, 12_345)
        kp = self.buyers[payer]
        mint = Pubkey.from_string(self.mints[cur])
        ref = Pubkey.from_string(inv.reference)
        ixs = [
            memo_instruction(inv.id),
            transfer_checked_ix(
                self.ata(kp.pubkey(), cur),
                mint,
                Pubkey.from_string(self.treasury.currency(cur).account),
                kp.pubkey(),
                amount,
                DEC[cur],
                [ref],
            ),  # fmt: skip
        ]
        if kind == "failed":
            self.chain.fail_next = 1
        sig = self.chain.pay(kp, ixs, v0_lookup=[ref] if v0 else [])
        self.chain.fail_next = 0
        if kind == "failed":
            return
        if kind == "wrong_mint":
            inv.wrong_mint = True
            self.effects[sig] = [(ledger.TREASURY, cur, amount), (ledger.buyer(inv.buyer), cur, amount)]
            return
        fee = amount * inv.fee_bps // BPS
        inv.credits.append((sig, amount))
        inv.late = inv.late or self.now > inv.expires_at
        self.effects[sig] = [(ledger.TREASURY, cur, amount), (ledger.buyer(inv.buyer), cur, amount - fee)]
        self.effects_fees[sig] = (cur, fee)

    @rule(payer=st.integers(0, 2), cur=st.sampled_from([IO, USDC]), amount=st.integers(1, 10**9))
    def deposit(self, payer: int, cur: str, amount: int) -> None:
        kp = self.buyers[payer]
        mint = Pubkey.from_string(self.mints[cur])
        to = Pubkey.from_string(self.treasury.currency(cur).account)
        ix = transfer_checked_ix(self.ata(kp.pubkey(), cur), mint, to, kp.pubkey(), amount, DEC[cur])
        sig = self.chain.pay(kp, [ix])
        fee = amount * self.fee(cur) // BPS
        self.effects[sig] = [(ledger.TREASURY, cur, amount), (ledger.buyer(str(kp.pubkey())), cur, amount - fee)]
        self.effects_fees[sig] = (cur, fee)

    @rule()
    def finalize(self) -> None:
        self.chain.finalize()

    @rule(slots=st.integers(1, 200))
    def advance(self, slots: int) -> None:
        self.chain.advance(slots)

    # --- the settlement pass ------------------------------------------------------------------------------------

    @rule(finalize_first=st.booleans())
    def settle(self, finalize_first: bool) -> None:
        if finalize_first:
            self.chain.finalize()
        with session_scope(self.factory) as s:
            sync.run_pass(s, self.settings, self.treasury, self.now)
        self._apply_finalized()
        self._meter_all()
        with session_scope(self.factory) as s:
            report = check(s, self.treasury, self.chain.balance_at)
        assert report.ok, report.differences
        assert not report.warnings, report.warnings

    def _apply_finalized(self) -> None:
        for sig, t in self.chain.landed.items():
            if sig in self.applied or t.slot > self.chain.finalized:
                continue
            self.applied.add(sig)
            if sig in self.effects:
                for account, cur, delta in self.effects[sig]:
                    self.move(account, cur, delta)
                if sig in self.effects_fees:
                    cur, fee = self.effects_fees[sig]
                    self.move(ledger.FEES, cur, fee)
                    self.fee_income[cur] += fee
                continue
            if t.err is not None:
                continue
            for kind, _dest, amount, refs in t.outflows:  # the treasury's own transactions
                if kind == "burn":
                    self.move(ledger.BURN_PENDING, IO, -amount)
                    self.move(ledger.TREASURY, IO, -amount)
                    continue
                k, _account, cur, planned = self.items[refs[0]]
                assert planned == amount, (refs, planned, amount)
                self.move(ledger.PAYOUTS_PENDING if k == "payout" else ledger.REFUNDS_PENDING, cur, -amount)
                self.move(ledger.TREASURY, cur, -amount)

    # --- jobs and usage ---------------------------------------------------------------------------------------

    @rule(buyer=st.integers(0, 2), op=st.integers(0, 1), cur=st.sampled_from([IO, USDC]),
          budget=st.integers(1, 10**8), price=st.integers(1, 10**9), units=st.integers(1, 8))  # fmt: skip
    def start_job(self, buyer: int, op: int, cur: str, budget: int, price: int, units: int) -> None:
        b = str(self.buyers[buyer].pubkey())
        node = list(self.nodes)[op]
        job_id = f"job-{len(self.jobs)}"
        have = self.book[(ledger.buyer(b), cur)]
        try:
            with session_scope(self.factory) as s:
                jobs.start(
                    s, self.settings, self.treasury, job_id=job_id, buyer=b, node=node, currency=cur,
                    price_per_gpu_hour=price, gpu_units=units, budget=budget, created_by="test", now=self.now,
                )  # fmt: skip
        except jobs.InsufficientBalance:
            assert have < budget
            return
        assert have >= budget
        self.move(ledger.buyer(b), cur, -budget)
        self.move(ledger.buyer_reserved(b), cur, budget)
        self.jobs.append(JobModel(job_id, b, node, self.nodes[node], cur, price, units, budget))

    @precondition(lambda self: any(j.running for j in self.jobs))
    @rule(pick=st.integers(0, 10**6), gpu_seconds=st.integers(0, 40_000), duration=st.integers(1, 3_600),
          wrong_node=st.booleans())  # fmt: skip
    def usage(self, pick: int, gpu_seconds: int, duration: int, wrong_node: bool) -> None:
        running = [j for j in self.jobs if j.running]
        job = running[pick % len(running)]
        node = str(Keypair().pubkey()) if wrong_node else job.node
        start = job.next_period
        job.next_period += duration
        with session_scope(self.factory) as s:
            (res,) = telemetry.record_usage(
                s, [UsageIn(job_id=job.id, period_start=start, period_end=start + duration, node=node,
                            gpu_seconds=gpu_seconds)], "test", self.now)  # fmt: skip
        if res.status == "recorded":
            job.usage.append((start, node, gpu_seconds, duration))

    def _meter_all(self) -> None:
        for job in self.jobs:
            while job.running and job.usage:
                _, node, g, duration = job.usage.pop(0)
                billed = 0 if node != job.node else min(g, duration * job.units)
                seconds = job.seconds + billed
                compute = job.price * seconds // 3600
                bfee = compute * 25 // BPS
                spent = False
                if compute + bfee > job.budget:
                    compute = max(c for c in (job.compute, *self._fits(job)) if c + c * 25 // BPS <= job.budget)
                    bfee, spent = compute * 25 // BPS, True
                pfee = compute * 25 // BPS
                dc, db, dp = compute - job.compute, bfee - job.bfee, pfee - job.pfee
                self.move(ledger.buyer_reserved(job.buyer), job.currency, -(dc + db))
                self.move(ledger.provider(job.operator), job.currency, dc - dp)
                self.move(ledger.FEES, job.currency, db + dp)
                self.fee_income[job.currency] += db + dp
                job.seconds, job.compute, job.bfee, job.pfee = seconds, compute, bfee, pfee
                if spent or compute + bfee == job.budget:
                    left = job.budget - compute - bfee  # the cap may leave less than a unit of compute + fee
                    self.move(ledger.buyer_reserved(job.buyer), job.currency, -left)
                    self.move(ledger.buyer(job.buyer), job.currency, left)
                    job.running = False
            if not job.running:
                job.usage.clear()

    @staticmethod
    def _fits(job: JobModel) -> list[int]:
        """Every total compute whose total with its fee is within the budget near the budget (brute force)."""
        top = job.budget * BPS // (BPS + 25) + 2
        return [c for c in range(max(job.compute, top - 40), top + 1)]

    @precondition(lambda self: any(j.running for j in self.jobs))
    @rule(pick=st.integers(0, 10**6), cancel=st.booleans())
    def end_job(self, pick: int, cancel: bool) -> None:
        running = [j for j in self.jobs if j.running]
        job = running[pick % len(running)]
        with session_scope(self.factory) as s:
            jobs.end(s, job.id, "cancelled" if cancel else "completed", self.now)
        self._meter_all()
        if job.running:
            left = job.budget - job.compute - job.bfee
            self.move(ledger.buyer_reserved(job.buyer), job.currency, -left)
            self.move(ledger.buyer(job.buyer), job.currency, left)
            job.running = False

    # --- refunds, payouts, burns, the sender ---------------------------------------------------------------------

    @rule(buyer=st.integers(0, 2), cur=st.sampled_from([IO, USDC]), amount=st.none() | st.integers(1, 10**9),
          replay=st.booleans(), then_send=st.sampled_from([None, "ok", "ok", "lose", "fail", "crash"]))  # fmt: skip
    def refund(self, buyer: int, cur: str, amount: int | None, replay: bool, then_send: str | None) -> None:
        b = str(self.buyers[buyer].pubkey())
        if replay and self.refund_keys:
            key, b, cur, amount = self.refund_keys[-1]
        else:
            key = uuid.uuid4().hex
        have = self.book[(ledger.buyer(b), cur)]
        want = have if amount is None else amount
        try:
            with session_scope(self.factory) as s:
                item = transfers.request_refund(
                    s, self.treasury, buyer=b, currency=cur, amount=amount, idempotency_key=key, now=self.now
                )
                ref, got = item.reference, item.amount
        except jobs.InsufficientBalance:
            assert want <= 0 or want > have
            return
        if ref in self.items:  # the replay of a recorded request: nothing new
            assert replay
            return
        assert 0 < want <= have and got == want
        self.refund_keys.append((key, b, cur, amount))
        self.items[ref] = ("refund", ledger.buyer(b), cur, got)
        self.move(ledger.buyer(b), cur, -got)
        self.move(ledger.REFUNDS_PENDING, cur, got)
        self._then(then_send)

    def _then(self, then_send: str | None) -> None:
        if then_send is not None:
            self.send(None if then_send == "ok" else then_send)

    @rule(then_send=st.sampled_from([None, "ok", "ok", "lose", "fail", "crash"]))
    def payouts(self, then_send: str | None) -> None:
        expected = {
            (name, cur): bal for (name, cur), bal in self.book.items() if name.startswith("provider:") and bal >= 1_000
        }
        with session_scope(self.factory) as s:
            planned = transfers.plan_payouts(s, self.settings, self.treasury, self.now)
            got = {(p.account, p.currency): (p.amount, p.reference) for p in planned}
        assert {k: v[0] for k, v in got.items()} == expected
        for (name, cur), (amount, ref) in got.items():
            self.items[ref] = ("payout", name, cur, amount)
            self.move(name, cur, -amount)
            self.move(ledger.PAYOUTS_PENDING, cur, amount)
        self._then(then_send)

    @rule(then_send=st.sampled_from([None, "ok", "ok", "lose", "fail", "crash"]))
    def burn(self, then_send: str | None) -> None:
        self.epoch += 1
        target = self.fee_income[IO] * 5_000 // BPS
        amount = min(target - self.burn_planned, self.book[(ledger.FEES, IO)])
        with session_scope(self.factory) as s:
            b = burn_mod.plan_burn(s, self.settings, self.treasury, self.epoch, self.now)
            got = None if b is None else b.amount
        assert got == (amount if amount > 0 else None)
        if got:
            self.burn_planned += got
            self.move(ledger.FEES, IO, -got)
            self.move(ledger.BURN_PENDING, IO, got)
        self._then(then_send)

    @rule(fault=st.sampled_from([None, None, "lose", "fail", "crash"]))
    def send(self, fault: str | None) -> None:
        self._void_failed()  # what the run's first step (resolve) does with transactions that failed on chain
        if fault == "lose":
            self.chain.lose_next = 1
        elif fault == "fail":
            self.chain.fail_next = 1
        elif fault == "crash":
            self.chain.crash_after_send = 1
        try:
            outgoing.run(self.factory, self.chain, self.treasury, self.kp, lambda: self.now)
        except Crash:
            pass
        self.chain.lose_next = self.chain.fail_next = self.chain.crash_after_send = 0

    def _void_failed(self) -> None:
        with session_scope(self.factory) as s:
            from backend.models.settlement import Burn, SettlementTx

            for t in self.chain.landed.values():
                if t.err is None or t.signature in self.voided:
                    continue
                row = s.execute(select(SettlementTx).where(SettlementTx.signature == t.signature)).scalar_one_or_none()
                if row is None:
                    continue  # a user's failed payment
                self.voided.add(t.signature)
                for item in s.execute(select(SettlementTransfer).where(SettlementTransfer.tx_id == row.id)).scalars():
                    kind, account, cur, amount = self.items[item.reference]
                    self.move(account, cur, amount)
                    self.move(ledger.PAYOUTS_PENDING if kind == "payout" else ledger.REFUNDS_PENDING, cur, -amount)
                for burn in s.execute(select(Burn).where(Burn.tx_id == row.id)).scalars():
                    self.move(ledger.FEES, IO, burn.amount)
                    self.move(ledger.BURN_PENDING, IO, -burn.amount)
                    self.burn_planned -= burn.amount

    # --- invariants -------------------------------------------------------------------------------------------

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        with session_scope(self.factory) as s:
            assert unbalanced_entries(s) == [] and short_entries(s) == []
            book = {(b.account, b.currency): b.balance for b in ledger.balances(s)}
        model = {k: v for k, v in self.book.items() if v}
        assert {k: v for k, v in book.items() if v} == model
        for (name, _cur), v in model.items():
            if name.split(":")[0] in ("buyer", "buyer_reserved", "provider"):
                assert v >= 0, name

    @invariant()
    def invoice_statuses_are_the_models(self) -> None:
        if not self.invoices:
            return
        with session_scope(self.factory) as s:
            from backend.models.payments import Invoice

            rows = list(s.execute(select(Invoice)).scalars())
            views = {v.invoice.id: v.state for v in invoices.view(s, self.treasury, rows, self.now)}
        for inv in self.invoices:
            fin = sum(a for sig, a in inv.credits if self.chain.landed[sig].slot <= self.chain.finalized)
            pend = sum(a for sig, a in inv.credits if self.chain.landed[sig].slot > self.chain.finalized)
            if fin >= inv.amount:
                want = "overpaid" if fin > inv.amount else "paid"
            elif fin + pend >= inv.amount:
                want = "seen"
            elif fin + pend:
                want = "partially_paid"
            else:
                want = "expired" if self.now > inv.expires_at else "open"
            state = views[inv.id]
            assert (state.status, state.paid, state.pending) == (want, fin, pend), inv
            assert ("late" in state.flags) == inv.late and ("wrong_mint" in state.flags) == inv.wrong_mint


def _run(tmp_path: Path, examples: int, steps: int) -> None:
    Settlement.tmp = tmp_path
    run_state_machine_as_test(
        Settlement,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_settlement_state_machine(tmp_path: Path) -> None:
    _run(tmp_path, examples=15 if TEST_DATABASE_URL else 30, steps=50)


@pytest.mark.slow
def test_settlement_state_machine_long(tmp_path: Path) -> None:
    # Every example migrates a database of its own: on PostgreSQL (CI) that DDL is most of the cost, so fewer
    # examples there; SQLite runs the full 100.
    _run(tmp_path, examples=40 if TEST_DATABASE_URL else 100, steps=60)
