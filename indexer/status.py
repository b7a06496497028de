"""What an operator sees: per-address status (``iog indexer status``) and the progress line ``iog indexer run``
logs every ``IOG_INDEXER_LOG_SECONDS``.

Lag is how far an address's cursor is behind that address's newest finalized signature: the head's slot minus
the cursor's slot, 0 when the cursor is the head. It does not grow while nothing new happens on the address (the
cluster's finalized slot is shown beside it, never subtracted from it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select

from indexer.config import IndexerConfig
from indexer.errors import RpcError
from indexer.rpc import RpcClient
from indexer.store import CURSORS, EVENTS, FINALIZED, TRANSFERS

log = logging.getLogger("indexer.progress")


@dataclass(frozen=True)
class AddressStatus:
    """One watched address as the database and the cluster see it."""

    address: str
    role: str
    signature: str | None  # the cursor: newest finalized signature whose history is fully stored
    slot: int  # the cursor's slot (0 before the first batch)
    head_signature: str | None  # the address's newest finalized signature on the cluster (None: it has none)
    head_slot: int | None  # its slot (None: unknown or none)
    lag: int | None  # head_slot - slot, 0 when caught up; None when the cluster could not be read
    caught_up: bool | None  # the cursor is the head (None: unknown)
    rows: int | None  # stored transfers into/out of it, or events of the program at it (None: not counted)
    last_error: str | None
    last_error_at: int | None


@dataclass(frozen=True)
class StatusReport:
    """Every watched address, and the cluster's finalized slot (None when the RPC did not answer)."""

    finalized_slot: int | None
    addresses: list[AddressStatus]


async def _heads(rpc: RpcClient, addresses: list[str]) -> dict[str, tuple[str, int] | None] | None:
    """Newest finalized (signature, slot) of each address (None for one without any); None when the RPC fails."""
    try:
        pages = await asyncio.gather(
            *(rpc.signatures_page(a, before=None, until=None, limit=1, commitment=FINALIZED) for a in addresses)
        )
    except RpcError:
        return None
    return {a: ((p[0]["signature"], int(p[0]["slot"])) if p else None) for a, p in zip(addresses, pages, strict=True)}


def _lag(cursor: tuple[str | None, int], head: tuple[str, int] | None) -> tuple[int, bool]:
    """(lag in slots, caught up) of a cursor against the address's head."""
    if head is None or head[0] == cursor[0]:
        return 0, True
    # A head read from a node that lags the one the indexer read can be older than the cursor: not behind.
    return max(0, head[1] - cursor[1]), head[1] < cursor[1]


async def address_status(
    engine: Engine, cfg: IndexerConfig, rpc: RpcClient, *, count_rows: bool = True
) -> StatusReport:
    """Status of every watched address; lag and head are None when the RPC cannot be reached."""
    try:
        finalized: int | None = await rpc.get_slot(FINALIZED)
    except RpcError:
        finalized = None
    heads = None if finalized is None else await _heads(rpc, cfg.addresses)
    out = []
    with engine.connect() as conn:
        cursors = {r["address"]: r for r in conn.execute(select(CURSORS)).mappings()}
        for addr in cfg.addresses:
            cur = cursors.get(addr)
            rows: int | None = None
            if count_rows:
                if addr == cfg.program_id:
                    q = select(func.count()).select_from(EVENTS).where(EVENTS.c.program_id == addr)
                else:
                    q = (
                        select(func.count())
                        .select_from(TRANSFERS)
                        .where(or_(TRANSFERS.c.source == addr, TRANSFERS.c.destination == addr))
                    )
                rows = int(conn.execute(q).scalar_one())
            cursor = (cur["last_signature"] if cur else None, int(cur["last_slot"]) if cur else 0)
            head = heads.get(addr) if heads is not None else None
            lag, caught_up = _lag(cursor, head) if heads is not None else (None, None)
            out.append(
                AddressStatus(
                    address=addr,
                    role=cfg.labels.get(addr, ""),
                    signature=cursor[0],
                    slot=cursor[1],
                    head_signature=head[0] if head else None,
                    head_slot=head[1] if head else None,
                    lag=lag,
                    caught_up=caught_up,
                    rows=rows,
                    last_error=cur["last_error"] if cur else None,
                    last_error_at=int(cur["last_error_at"]) if cur and cur["last_error_at"] is not None else None,
                )
            )
    return StatusReport(finalized, out)


def progress_line(
    report: StatusReport, written: Mapping[str, int], since_last: int, seconds: float, now: float | None = None
) -> str:
    """The one line ``iog indexer run`` logs per interval.

    Args:
        report: the status of the watched addresses (rows need not be counted).
        written: transactions written since the start, per status (``finalized``, ``confirmed``).
        since_last: of those, how many in this interval.
        seconds: the interval's length.
        now: unix time the error ages are measured at (default: the clock).
    """
    now = time.time() if now is None else now
    total = sum(written.values())
    parts = [
        f"wrote {since_last:,} transactions in {seconds:.0f} s ({since_last / max(seconds, 1e-9):,.1f}/s; "
        f"{total:,} since start: {written.get(FINALIZED, 0):,} finalized, {written.get('confirmed', 0):,} pending)"
    ]
    lags = [a.lag for a in report.addresses]
    if report.finalized_slot is None or any(lag is None for lag in lags):
        parts.append("lag ? (RPC not answering)")
    else:
        behind = [f"{a.role or a.address[:8]} {a.lag}" for a in report.addresses if not a.caught_up]
        worst = max((lag for lag in lags if lag is not None), default=0)
        parts.append(
            f"lag {worst} slots (finalized slot {report.finalized_slot}"
            + (f"; behind: {', '.join(behind)})" if behind else "; every address caught up)")
        )
    errors = [a for a in report.addresses if a.last_error]
    if errors:
        e = max(errors, key=lambda a: a.last_error_at or 0)
        age = f", {max(0, int(now - e.last_error_at))} s ago" if e.last_error_at else ""
        parts.append(f"last error ({e.role or e.address[:8]}{age}): {e.last_error}")
    else:
        parts.append("last error: none")
    return "; ".join(parts)


async def log_progress(
    engine: Engine,
    cfg: IndexerConfig,
    rpc: RpcClient,
    written: Mapping[str, int],
    every: float,
    stop: asyncio.Event,
) -> None:
    """Log :func:`progress_line` every ``every`` seconds until ``stop`` is set (errors are logged, never raised:
    the progress line must not stop the indexer)."""
    last_total, last_t = sum(written.values()), time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        try:
            report = await address_status(engine, cfg, rpc, count_rows=False)
            total, t = sum(written.values()), time.monotonic()
            log.info("%s", progress_line(report, written, total - last_total, t - last_t))
            last_total, last_t = total, t
        except Exception as exc:  # noqa: BLE001 - a failed progress line is logged and the next one tried
            log.warning("progress line failed: %s: %s", type(exc).__name__, exc)
