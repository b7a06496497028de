"""Running the check outside a request: the database, the treasury and the RPC of the configured deployment."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.chain import treasury as treasury_mod
from backend.chain.history import JsonRpc
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.errors import AppError
from backend.evm import service as evm_service
from backend.ledger.check import EvmTreasury, Report, check, evm_treasury


def evm_input(session: Session, settings: Settings) -> EvmTreasury | str:
    """The EVM part of the check: the treasury at the confirmed head, or the note saying it is not configured."""
    try:
        return evm_treasury(session, evm_service.rail(settings), str(settings.resolved_evm_bootstrap_file))
    except AppError as exc:  # a broken EVM bootstrap file: a difference, not a crash
        return EvmTreasury(evm_service.EVM_CURRENCY, "?", None, error=exc.message)


def run_check(settings: Settings) -> Report:
    """One check of the configured deployment, both rails (its own engine and RPC clients)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session, JsonRpc(settings.rpc_url) as rpc:
            return check(session, treasury_mod.load(settings), rpc, evm_input(session, settings))
    finally:
        engine.dispose()
