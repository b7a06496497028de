"""Per-address status: cursor, lag, rows, last error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, or_, select

from indexer.config import IndexerConfig
from indexer.errors import RpcError
from indexer.rpc import RpcClient
from indexer.store import CURSORS, EVENTS, TRANSFERS


async def address_status(engine: Engine, cfg: IndexerConfig, rpc_url: str) -> list[dict[str, Any]]:
    """One dict per watched address; ``lag`` is None when the RPC cannot be reached."""
    finalized: int | None = None
    async with RpcClient(rpc_url, timeout=5.0, max_retries=1) as rpc:
        try:
            finalized = await rpc.get_slot("finalized")
        except RpcError:
            finalized = None
    out = []
    with engine.connect() as conn:
        for addr in cfg.addresses:
            cur = conn.execute(select(CURSORS).where(CURSORS.c.address == addr)).mappings().first()
            if addr == cfg.program_id:
                rows = conn.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.program_id == addr))
            else:
                rows = conn.execute(
                    select(func.count())
                    .select_from(TRANSFERS)
                    .where(or_(TRANSFERS.c.source == addr, TRANSFERS.c.destination == addr))
                )
            slot = int(cur["last_slot"]) if cur else 0
            synced = int(cur["synced_slot"]) if cur else 0
            out.append(
                {
                    "address": addr,
                    "role": cfg.labels.get(addr, ""),
                    "signature": cur["last_signature"] if cur else None,
                    "slot": slot,
                    # Finalized slots not yet covered by a complete pass (None: unknown or never synced).
                    "lag": None if finalized is None or not synced else max(0, finalized - synced),
                    "rows": int(rows.scalar_one()),
                    "last_error": cur["last_error"] if cur else None,
                }
            )
    return out
