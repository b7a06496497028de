"""Scheduled settlement jobs: idempotent functions of the settings (the scheduler and the CLI call these).

- :func:`run_pass`: book what the chain did, charge usage, send recorded refunds, deliver webhooks (every few
  hundred milliseconds under ``iog settlement watch``).
- :func:`run_payouts`: a pass, the ledger check (payouts stop while it fails), then a payout of every provider
  balance at or above its threshold.
- :func:`run_burn`: a pass, then the burn of the epoch (once per epoch: keyed by it).

Each takes the settlement lock (one worker signs and sends at a time) and loads the treasury keypair only when it
has something to send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from solana.rpc.api import Client
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import treasury as treasury_mod
from backend.chain.history import JsonRpc
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.errors import AppError
from backend.evm import service as evm_service
from backend.evm.service import Rail
from backend.ledger.check import check, evm_treasury
from backend.models.settlement import FINALIZED, PLANNED, SENT, Burn, SettlementTransfer
from backend.payments import webhooks
from backend.settlement import burn as burn_mod
from backend.settlement import evm as evm_settlement
from backend.settlement import outgoing, sync, transfers
from backend.settlement.chainport import ChainPort, RpcChain
from backend.settlement.lock import SettlementLock

log = logging.getLogger(__name__)
Clock = Callable[[], float]


@dataclass
class Runtime:
    """What a task needs: the database, the treasury and the cluster."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    treasury: treasury_mod.Treasury
    chain: ChainPort
    client: Client | None = None
    evm: Rail | None = None

    def close(self) -> None:
        self.engine.dispose()
        if self.client is not None:
            self.client._provider.session.close()


@contextmanager
def runtime(settings: Settings, chain: ChainPort | None = None) -> Iterator[Runtime]:
    """Open the deployment's database and RPC for one task."""
    engine = make_engine(settings.resolved_database_url)
    client = None
    if chain is None:
        client = Client(settings.rpc_url, timeout=30)
        chain = RpcChain(client)
    rt = Runtime(settings, engine, make_sessionmaker(engine), treasury_mod.load(settings), chain, client,
                 evm_rail(settings))
    try:
        yield rt
    finally:
        rt.close()


@dataclass
class TaskResult:
    """What a task did (printed by the CLI, logged by the scheduler)."""

    task: str
    passed: dict[str, int] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)
    sent: dict[str, Any] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    webhooks_delivered: int = 0
    finalized: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evm_rail(settings: Settings) -> Rail | None:
    """The EVM rail when configured (a broken EVM bootstrap file is logged; the Solana rail goes on)."""
    try:
        return evm_service.rail(settings)
    except AppError as exc:
        log.error("the EVM rail is not usable: %s", exc.message)
        return None


def _book(rt: Runtime, clock: Clock) -> dict[str, int]:
    with session_scope(rt.factory) as session:
        return asdict(sync.run_pass(session, rt.settings, rt.treasury, int(clock()), evm=rt.evm))


def _has_work(rt: Runtime) -> bool:
    from backend.models.settlement import OPEN_TX_STATUSES, SettlementTx

    with session_scope(rt.factory) as session:
        q1 = select(SettlementTransfer.id).where(
            SettlementTransfer.status == PLANNED, SettlementTransfer.currency != evm_service.EVM_CURRENCY
        ).limit(1)
        q2 = select(Burn.epoch).where(Burn.status == PLANNED).limit(1)
        q3 = select(SettlementTx.id).where(SettlementTx.status.in_(OPEN_TX_STATUSES)).limit(1)
        return any(session.execute(q).first() is not None for q in (q1, q2, q3))


def _send(rt: Runtime, clock: Clock, fault: str | None = None) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    if _has_work(rt):
        sent = asdict(outgoing.run(rt.factory, rt.chain, rt.treasury, rt.treasury.keypair(), clock, fault))
    if rt.evm is not None:
        evm_sent = evm_settlement.send(rt.factory, rt.evm, int(clock()))
        if evm_sent:
            sent["evm"] = evm_sent
    return sent


def run_pass(
    settings: Settings, clock: Clock = time.time, rt: Runtime | None = None, fault: str | None = None
) -> TaskResult:
    """One settlement pass: book, charge, send recorded refunds, deliver due webhooks."""
    with _maybe_runtime(settings, rt) as r, SettlementLock(r.engine):
        result = TaskResult("pass", passed=_book(r, clock))
        result.sent = _send(r, clock, fault)
        result.webhooks_delivered = webhooks.deliver_due(r.factory, settings, clock)
        return result


@contextmanager
def _maybe_runtime(settings: Settings, rt: Runtime | None) -> Iterator[Runtime]:
    if rt is not None:
        yield rt
        return
    with runtime(settings) as r:
        yield r


def _wait_finalized(rt: Runtime, clock: Clock, kind: str, ids: list[str], timeout: float) -> list[str]:
    """Pass until the items are finalized (needs the indexer following the treasury); the finalized ids."""
    deadline = time.monotonic() + timeout
    done: list[str] = []
    while time.monotonic() < deadline:
        _send(rt, clock)  # resolves statuses (and re-broadcasts while the blockhash is valid)
        _book(rt, clock)
        with session_scope(rt.factory) as session:
            if kind == "burn":
                rows = session.execute(select(Burn.epoch, Burn.status).where(Burn.epoch.in_([int(i) for i in ids])))
            else:
                rows = session.execute(
                    select(SettlementTransfer.id, SettlementTransfer.status).where(SettlementTransfer.id.in_(ids))
                )
            states = {str(k): s for k, s in rows}
        done = [i for i in ids if states.get(i) == FINALIZED]
        if all(states.get(i) not in (PLANNED, SENT) for i in ids):
            break
        time.sleep(0.5)
    return done


def run_payouts(
    settings: Settings,
    clock: Clock = time.time,
    *,
    fault: str | None = None,
    wait: float = 0.0,
    rt: Runtime | None = None,
) -> TaskResult:
    """Pay providers: pass, finish what earlier runs recorded, check (stop on a difference), record a payout of
    every provider balance at or above its threshold, send. ``wait`` > 0: wait up to that many seconds for
    in-flight items and pending differences to clear, and for the new payouts to be booked at finalized."""
    with _maybe_runtime(settings, rt) as r, SettlementLock(r.engine):
        deadline = time.monotonic() + wait
        result = TaskResult("payouts", passed=_book(r, clock))
        # Finish what an earlier (possibly crashed) run recorded before planning anything new.
        result.sent = _send(r, clock, fault)
        if wait:
            with session_scope(r.factory) as session:
                inflight = list(
                    session.execute(select(SettlementTransfer.id).where(SettlementTransfer.status == SENT)).scalars()
                )
            if inflight:
                _wait_finalized(r, clock, "payout", inflight, max(0.0, deadline - time.monotonic()))
        while True:
            _book(r, clock)
            with session_scope(r.factory) as session, JsonRpc(settings.rpc_url) as rpc:
                report = check(session, r.treasury, rpc, evm_treasury(session, r.evm))
            if report.ok or not report.transient or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        if not report.ok:
            result.blocked = report.differences
            log.error("payouts stopped: the ledger check failed: %s", "; ".join(report.differences))
            return result
        with session_scope(r.factory) as session:
            result.planned = [p.id for p in transfers.plan_payouts(session, settings, r.treasury, int(clock()))]
        if result.planned:
            result.sent = _send(r, clock, fault)
        if wait and result.planned:
            result.finalized = _wait_finalized(
                r, clock, "payout", result.planned, max(1.0, deadline - time.monotonic())
            )
        return result


def run_burn(
    settings: Settings,
    clock: Clock = time.time,
    *,
    epoch: int | None = None,
    wait: float = 0.0,
    rt: Runtime | None = None,
) -> TaskResult:
    """Burn the epoch's share of IO fee income (at most once per epoch)."""
    with _maybe_runtime(settings, rt) as r, SettlementLock(r.engine):
        result = TaskResult("burn", passed=_book(r, clock))
        e = burn_mod.epoch_of(settings, int(clock())) if epoch is None else epoch
        with session_scope(r.factory) as session:
            b = burn_mod.plan_burn(session, settings, r.treasury, e, int(clock()))
            if b is not None:
                result.planned = [str(b.epoch)]
        result.sent = _send(r, clock)
        if wait and result.planned:
            result.finalized = _wait_finalized(r, clock, "burn", result.planned, wait)
        return result


def watch(settings: Settings, stop: Callable[[], bool] = lambda: False, clock: Clock = time.time) -> None:
    """``iog settlement watch``: a pass every ``IOG_SETTLEMENT_POLL_SECONDS`` until ``stop()``; errors are logged
    and the loop goes on (every pass is idempotent)."""
    with runtime(settings) as rt:
        while not stop():
            try:
                r = run_pass(settings, clock, rt)
                if r.passed and any(r.passed.values()) or r.sent or r.webhooks_delivered:
                    log.info("pass: %s", r.as_dict())
            except Exception as exc:  # noqa: BLE001 - the watcher must survive any single failed pass
                log.error("settlement pass failed: %s: %s", type(exc).__name__, exc)
            time.sleep(settings.settlement_poll_seconds)
