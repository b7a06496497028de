"""Running the check outside a request: the database, the treasury and the RPC of the configured deployment."""

from __future__ import annotations

from backend.chain import treasury as treasury_mod
from backend.chain.history import JsonRpc
from backend.config import Settings
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.ledger.check import Report, check


def run_check(settings: Settings) -> Report:
    """One check of the configured deployment (its own engine and RPC client)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session, JsonRpc(settings.rpc_url) as rpc:
            return check(session, treasury_mod.load(settings), rpc)
    finally:
        engine.dispose()
