"""The EVM rail end to end in one process: a real anvil with the token and router deployed, the real EVM indexer,
the real app (synthetic Solana bootstrap file, no cluster) and the settlement pass driven by the test."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from sqlalchemy import Engine

from backend.chain import treasury as treasury_mod
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.evm import service as evm_service
from backend.evm.indexer import EvmIndexer
from backend.ledger import service as ledger
from backend.ledger.check import CurrencyReport, Report, check, evm_treasury
from backend.settlement import evm as evm_settlement
from backend.settlement import sync
from tests.backend.settlement.apiharness import Api, make_api
from tests.fixtures.evm import EvmDeployment

EVM = "USDC-EVM"
USDC = 10**6


@dataclass
class Rig:
    """The API, the chain and the workers of the EVM rail."""

    api: Api
    dep: EvmDeployment
    settings: Settings
    engine: Engine
    rail: evm_service.Rail

    @property
    def n(self) -> int:
        """Confirmations that make a payment money."""
        return self.rail.confirmations

    def index(self) -> None:
        EvmIndexer(self.engine, self.dep.client, self.rail.watch, 2_000, self.n).pass_once()

    def settle(self, now: int | None = None) -> sync.PassResult:
        """One settlement pass (both rails; the Solana one has nothing to do here)."""
        with session_scope(make_sessionmaker(self.engine)) as s:
            return sync.run_pass(s, self.settings, treasury_mod.load(self.settings), now or self.api.now,
                                 evm=self.rail)

    def send(self, now: int | None = None) -> dict[str, int]:
        return evm_settlement.send(make_sessionmaker(self.engine), self.rail, now or self.api.now)

    def confirm(self) -> None:
        """Mine until everything sent so far is money, index, settle."""
        self.dep.mine(self.n)
        self.index()
        self.settle()

    def buyer(self) -> tuple[Keypair, dict[str, str]]:
        kp = Keypair()
        return kp, self.api.sign_in(kp)

    def invoice(self, headers: dict[str, str], amount: int, **extra: Any) -> dict[str, Any]:
        r = self.api.client.post("/invoices", json={"amount": str(amount), "currency": EVM, **extra},
                                 headers=headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def get(self, invoice_id: str) -> dict[str, Any]:
        r = self.api.client.get(f"/invoices/{invoice_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def pay(self, buyer: str, inv: dict[str, Any], amount: int | None = None) -> dict[str, Any]:
        instr = inv["payment_instructions"]
        return self.dep.pay(buyer, bytes.fromhex(instr["invoice_id"][2:]), amount or int(instr["amount"]))

    def balance(self, account: str) -> int:
        with session_scope(make_sessionmaker(self.engine)) as s:
            return ledger.balance(s, account, EVM)

    def token_balance(self, address: str) -> int:
        return self.dep.client.token_balance(self.dep.boot.token.address, address)

    def check(self) -> tuple[Report, CurrencyReport]:
        """The ledger check with the EVM rail (the Solana part has no cluster here: its lines are ignored)."""
        with session_scope(make_sessionmaker(self.engine)) as s:
            report = check(s, treasury_mod.load(self.settings), None, evm_treasury(s, self.rail))
        (cur,) = [c for c in report.currencies if c.currency == EVM]
        return report, cur


def evm_differences(report: Report) -> list[str]:
    return [d for d in report.differences if EVM in d]


def make_rig(db_url: str, tmp_path: Path, dep: EvmDeployment) -> Rig:
    api = make_api(db_url, tmp_path, evm_bootstrap_file=dep.path)
    api.now = int(time.time())
    settings: Settings = api.client.app.state.settings  # type: ignore[attr-defined]
    rail = evm_service.rail(settings)
    assert rail is not None
    return Rig(api, dep, settings, make_engine(db_url), rail)
