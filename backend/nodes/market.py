"""The delegator marketplace listing: ``node_stats`` sorted, filtered and paged by keyset (cursor).

Every sort is (sort key, node) in one direction, which the ``ix_node_stats_*`` indexes serve in index order; the
cursor carries the last row's (sort key, node), so a page costs the same at any depth.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import InvalidInput
from backend.models.nodes import NodeStat
from backend.nodes import score

DEFAULT_EPOCH_SECONDS = 3_600

Sort = Literal["score", "estimated_apy", "commission", "capacity", "stake", "uptime"]
#: sort name -> (key column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "score": (NodeStat.score, True),
    "estimated_apy": (NodeStat.apy_key, True),
    "commission": (NodeStat.commission_key, False),
    "capacity": (NodeStat.capacity_left, True),
    "stake": (NodeStat.total_stake, True),
    "uptime": (NodeStat.uptime_key, True),
}


@dataclass(frozen=True)
class Filters:
    """What a delegator narrows the listing to (None: no filter)."""

    gpu_model: str | None = None
    region: str | None = None
    min_uptime_bps: int | None = None
    max_commission_bps: int | None = None
    has_capacity: bool | None = None


def encode_cursor(sort: str, key: int, node: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort, key, node], separators=(",", ":")).encode()).decode()


def decode_cursor(text: str, sort: str) -> tuple[int, str]:
    """(sort key, node) of a cursor made for ``sort``; InvalidInput otherwise."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(text.encode()))
        name, key, node = doc
        if not (isinstance(name, str) and isinstance(key, int) and isinstance(node, str)) or len(node) > 64:
            raise ValueError("bad shape")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor this listing gave") from None
    if name != sort:
        raise InvalidInput(f"cursor: made for sort={name}, not sort={sort}")
    return key, node


def query(sort: str, filters: Filters, cursor: str | None, limit: int) -> Select[Any]:
    """The page's statement: filters, keyset after ``cursor``, index order, ``limit`` + 1 rows."""
    if sort not in SORTS:
        raise InvalidInput(f"sort: one of {', '.join(SORTS)}, got {sort!r}")
    col, desc = SORTS[sort]
    # Plain rows of the table's columns, not ORM objects: a page is read-only, and loading entities costs more than
    # the query itself.
    stmt = select(*NodeStat.__table__.columns)
    if filters.gpu_model is not None:
        stmt = stmt.where(NodeStat.gpu_model == filters.gpu_model)
    if filters.region is not None:
        stmt = stmt.where(NodeStat.region == filters.region)
    if filters.min_uptime_bps is not None:
        stmt = stmt.where(NodeStat.uptime_key >= filters.min_uptime_bps)
    if filters.max_commission_bps is not None:
        stmt = stmt.where(NodeStat.commission_key <= filters.max_commission_bps)
    if filters.has_capacity is not None:
        stmt = stmt.where(NodeStat.capacity_left > 0 if filters.has_capacity else NodeStat.capacity_left == 0)
    if cursor is not None:
        key, node = decode_cursor(cursor, sort)
        after = tuple_(col, NodeStat.node)
        stmt = stmt.where(after < tuple_(key, node) if desc else after > tuple_(key, node))
    order = (col.desc(), NodeStat.node.desc()) if desc else (col.asc(), NodeStat.node.asc())
    return stmt.order_by(*order).limit(limit + 1)


def page(
    session: Session, sort: str, filters: Filters, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """(rows of ``node_stats`` as dicts, next cursor or None)."""
    # Core execution on the session's connection: the ORM's execution path costs more than the query here.
    result = session.connection().execute(query(sort, filters, cursor, limit))
    keys = list(result.keys())
    rows = [dict(zip(keys, r, strict=True)) for r in result.all()]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(sort, int(last[SORTS[sort][0].key]), last["node"])


def epoch_seconds(settings: Settings) -> int:
    """The epoch length ages are counted in (issue 11's ``IOG_EPOCH_SECONDS`` once it exists, else one hour)."""
    return int(getattr(settings, "epoch_seconds", DEFAULT_EPOCH_SECONDS))


def item(row: Mapping[str, Any], epoch_seconds: int, now: int) -> dict[str, Any]:
    """The API's view of one ``node_stats`` row (its columns by name), as the plain data of a
    :class:`MarketNodeOut` (validated once, for the whole page, by pydantic's core)."""
    age = None if row["registered_at"] is None else max(0, now - row["registered_at"])
    values = {
        "commission": None if row["commission_key"] > 10_000 else row["commission_key"],
        "uptime": row["uptime_30d_bps"],
        "age": age,
        "compute": row["compute_7d_gpu_seconds"],
    }
    ranks = {
        "commission": row["commission_component"],
        "uptime": row["uptime_component"],
        "age": row["age_component"],
        "compute": row["compute_component"],
    }
    return {
        "node": row["node"],
        "node_key": row["node_key"],
        "operator": row["operator"],
        "name": row["name"],
        "gpu_model": row["gpu_model"],
        "gpu_units": row["gpu_units"],
        "vram_gb": row["vram_gb"],
        "region": row["region"],
        "record_status": row["record_status"],
        "status": "active" if row["active"] else "inactive",
        "registered_at": row["registered_at"],
        "age_epochs": None if age is None else age // epoch_seconds,
        "total_stake": str(row["total_stake"]),
        "operator_stake": str(row["operator_stake"]),
        "delegated_stake": str(row["delegated_stake"]),
        "unbonding_stake": str(row["unbonding_stake"]),
        "min_operator_stake": None if row["min_operator_stake"] is None else str(row["min_operator_stake"]),
        "capacity_left": str(row["capacity_left"]),
        "commission_bps": row["commission_bps"],
        "pending_commission_bps": row["pending_commission_bps"],
        "commission_effective_at": row["commission_effective_at"],
        "uptime_24h_bps": row["uptime_24h_bps"],
        "uptime_7d_bps": row["uptime_7d_bps"],
        "uptime_30d_bps": row["uptime_30d_bps"],
        "compute_7d_gpu_seconds": row["compute_7d_gpu_seconds"],
        "rewards_24_epochs": None if row["rewards_24_epochs"] is None else str(row["rewards_24_epochs"]),
        "estimated_apy_bps": row["estimated_apy_bps"],
        "slashes": {
            "count": row["slash_count"],
            "total": str(row["slashed_total"]),
            "last_reason": row["last_slash_reason"],
            "last_slot": row["last_slash_slot"],
            "last_at": row["last_slash_at"],
        },
        "delegator_count": row["delegator_count"],
        "score": {
            "version": row["score_version"],
            "value": row["score"],
            "eligible": row["eligible"],
            "ineligible_reasons": [r for r in row["ineligible_reasons"].split(",") if r],
            "components": [
                {"name": name, "value": values[name], "rank_bps": ranks[name], "weight_bps": weight}
                for name, weight, _higher in score.COMPONENTS
            ],
        },
        "last_slot": row["last_slot"],
    }


def render_page(state: Any, sort: str, filters: Filters, cursor: str | None, limit: int, now: int) -> bytes:
    """The JSON of one page of ``GET /marketplace/nodes`` (a :class:`~backend.nodes.schemas.MarketPage`), read in a
    session of its own (``state``: the app's state: sessionmaker and settings)."""
    from backend.db import session_scope
    from backend.nodes.repository import stats_meta

    with session_scope(state.sessionmaker) as session:
        rows, next_cursor = page(session, sort, filters, cursor, limit)
        meta = stats_meta(session)
    epoch = epoch_seconds(state.settings)
    return orjson.dumps(
        {
            "items": [item(r, epoch, now) for r in rows],
            "next_cursor": next_cursor,
            "sort": sort,
            "score_version": score.VERSION,
            "as_of_slot": meta.get("as_of_slot"),
            "refreshed_at": meta.get("refreshed_at"),
        }
    )
