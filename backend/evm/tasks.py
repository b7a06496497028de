"""Scheduled jobs of the EVM rail (the lead wires them into ``iog scheduler run``); each is idempotent.

- :func:`index_pass`: one indexer pass from the cursor to the head (what ``iog evm index backfill`` runs).
- :func:`resume_outbound`: look up and, if the node knows none of their versions, resend the treasury's
  recorded but unsettled transactions (after a crash or a dropped transaction).
Both do nothing and return None when the EVM rail is not configured (no ``IOG_EVM_RPC_URL`` and no bootstrap file).
"""

from __future__ import annotations

from pathlib import Path

from backend.config import Settings
from backend.db import make_engine, make_sessionmaker
from backend.evm import bootfile
from backend.evm.bootfile import EvmBootFile
from backend.evm.client import GWEI, EvmClient
from backend.evm.indexer import EvmIndexer, PassResult, Watch
from backend.evm.sender import Outbound, Sender

DEFAULT_CONFIRMATIONS = 12


def _configured(settings: Settings) -> tuple[EvmBootFile, EvmClient] | None:
    path = settings.resolved_evm_bootstrap_file
    if not settings.evm_rpc_url and not path.exists():
        return None
    boot = bootfile.load(path)
    client = EvmClient(settings.evm_rpc_url or boot.rpc_url, timeout=settings.evm_rpc_timeout,
                       max_fee_cap=settings.evm_tx_max_fee_gwei * GWEI)
    return boot, client


def confirmations(settings: Settings, boot: EvmBootFile) -> int:
    """The depth in force: the setting, else the bootstrap file's, else 12."""
    return settings.evm_confirmations or boot.confirmations or DEFAULT_CONFIRMATIONS


def index_pass(settings: Settings) -> PassResult | None:
    """One pass of the EVM indexer (idempotent: rows keyed naturally, cursor moved with them)."""
    found = _configured(settings)
    if found is None:
        return None
    boot, client = found
    engine = make_engine(settings.resolved_database_url)
    try:
        idx = EvmIndexer(engine, client, Watch.from_boot(boot), settings.evm_log_range, confirmations(settings, boot))
        return idx.pass_once()
    finally:
        engine.dispose()


def resume_outbound(settings: Settings) -> list[Outbound] | None:
    """Settle or resend the treasury's recorded transactions (idempotent: never a second version of a nonce)."""
    found = _configured(settings)
    if found is None:
        return None
    boot, client = found
    from backend.evm.keys import load_key

    engine = make_engine(settings.resolved_database_url)
    try:
        sender = Sender(make_sessionmaker(engine), client, load_key(Path(boot.treasury_keypair_path)))
        return sender.resume()
    finally:
        engine.dispose()
