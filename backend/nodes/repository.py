"""Queries of the nodes domain: the registry (``node_records``), the marketplace rows (``node_stats``), and what
they read of the indexer's finalized output (events, cursors, the staking projections)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.models.indexer import FINALIZED, IndexerCursor, ProgramEvent
from backend.models.meta import AppMeta
from backend.models.nodes import NodeRecord
from backend.models.staking import StakePosition, StakingNode

STATS_META_KEY = "node_stats"


# --- registry ---------------------------------------------------------------------------------------------------


def record_by_key(session: Session, node_key: str) -> NodeRecord | None:
    return session.get(NodeRecord, node_key)


def record_by_node(session: Session, node: str) -> NodeRecord | None:
    return session.scalars(select(NodeRecord).where(NodeRecord.node == node).limit(1)).first()


def records_by_nodes(session: Session, nodes: Sequence[str]) -> list[NodeRecord]:
    if not nodes:
        return []
    return list(session.scalars(select(NodeRecord).where(NodeRecord.node.in_(nodes))))


def all_records(session: Session) -> list[NodeRecord]:
    return list(session.scalars(select(NodeRecord)))


@dataclass(frozen=True)
class Registration:
    """A finalized, well-formed NodeRegistered event."""

    node: str
    operator: str
    node_key: str
    gpu_units: int
    slot: int
    block_time: int | None


def _registration(subject: str, fields: str | None, slot: int, block_time: int | None) -> Registration | None:
    try:
        f = json.loads(fields or "{}")
        return Registration(subject, str(f["operator"]), str(f["nodeKey"]), int(f["gpuUnits"]), slot, block_time)
    except (KeyError, TypeError, ValueError):
        return None


def registrations(session: Session, nodes: Iterable[str] | None = None) -> dict[str, Registration]:
    """The first finalized NodeRegistered event per node (of ``nodes``, or of every node)."""
    stmt = select(ProgramEvent.subject, ProgramEvent.fields, ProgramEvent.slot, ProgramEvent.block_time).where(
        ProgramEvent.name == "NodeRegistered",
        ProgramEvent.status == FINALIZED,
        ProgramEvent.error.is_(None),
        ProgramEvent.subject.is_not(None),
    )
    if nodes is not None:
        wanted = list(nodes)
        if not wanted:
            return {}
        stmt = stmt.where(ProgramEvent.subject.in_(wanted))
    out: dict[str, Registration] = {}
    for subject, fields, slot, block_time in session.execute(stmt.order_by(ProgramEvent.slot)):
        reg = _registration(subject or "", fields, int(slot), block_time)
        if reg is not None and reg.node not in out:
            out[reg.node] = reg
    return out


def chain_node_exists(session: Session, node: str) -> bool:
    return session.get(StakingNode, node) is not None


# --- indexer progress -------------------------------------------------------------------------------------------


def synced_slot(session: Session, address: str) -> int | None:
    """The finalized slot the indexer's last complete pass over ``address`` covered (None: never read)."""
    cur = session.get(IndexerCursor, address)
    return int(cur.synced_slot) if cur is not None and cur.synced_slot else None


# --- positions (read through backend.nodes.service.positions only) ------------------------------------------------


def wallet_positions(session: Session, wallet: str) -> list[tuple[StakePosition, StakingNode | None]]:
    """Every position of ``wallet`` with its node's projection row, by node."""
    stmt = (
        select(StakePosition, StakingNode)
        .outerjoin(StakingNode, StakingNode.node == StakePosition.node)
        .where(StakePosition.owner == wallet)
        .order_by(StakePosition.node)
    )
    return [(p, n) for p, n in session.execute(stmt).all()]


# --- inputs of the node_stats refresh (few statements, whatever the number of nodes) -----------------------------


def stats_inputs_nodes(session: Session) -> list[Any]:
    """Every projected node joined with its registry record and its operator's own position."""
    own = and_(StakePosition.node == StakingNode.node, StakePosition.owner == StakingNode.operator)
    stmt = (
        select(
            StakingNode.node,
            StakingNode.operator,
            StakingNode.active,
            StakingNode.commission_bps,
            StakingNode.pending_commission_bps,
            StakingNode.commission_effective_at,
            StakingNode.total_stake,
            StakingNode.unbonding_stake,
            StakingNode.slashed_total,
            StakingNode.last_slot,
            StakePosition.bonded.label("operator_bonded"),
            NodeRecord.node_key,
            NodeRecord.name,
            NodeRecord.gpu_model,
            NodeRecord.vram_gb,
            NodeRecord.region,
            NodeRecord.status.label("record_status"),
        )
        .outerjoin(StakePosition, own)
        .outerjoin(NodeRecord, NodeRecord.node == StakingNode.node)
    )
    return list(session.execute(stmt).all())


def delegator_counts(session: Session) -> dict[str, int]:
    """Positions with bonded shares per node, the operator's own excluded."""
    stmt = (
        select(StakePosition.node, func.count())
        .join(StakingNode, StakingNode.node == StakePosition.node)
        .where(
            StakePosition.shares > 0, or_(StakingNode.operator.is_(None), StakePosition.owner != StakingNode.operator)
        )
        .group_by(StakePosition.node)
    )
    return {node: int(n) for node, n in session.execute(stmt)}


def slash_events(session: Session) -> list[tuple[str, int, int | None, str | None]]:
    """(node, slot, block_time, fields) of every finalized Slashed event, oldest first."""
    stmt = (
        select(ProgramEvent.subject, ProgramEvent.slot, ProgramEvent.block_time, ProgramEvent.fields)
        .where(ProgramEvent.name == "Slashed", ProgramEvent.status == FINALIZED, ProgramEvent.error.is_(None))
        .order_by(ProgramEvent.slot, ProgramEvent.signature, ProgramEvent.event_index)
    )
    return [(s, int(slot), bt, f) for s, slot, bt, f in session.execute(stmt) if s is not None]


def latest_config_params(session: Session) -> dict[str, Any] | None:
    """The program parameters of the newest finalized ConfigUpdated event (initialize or update_config)."""
    stmt = (
        select(ProgramEvent.fields)
        .where(ProgramEvent.name == "ConfigUpdated", ProgramEvent.status == FINALIZED, ProgramEvent.error.is_(None))
        .order_by(ProgramEvent.slot.desc(), ProgramEvent.signature.desc(), ProgramEvent.event_index.desc())
        .limit(1)
    )
    fields = session.scalar(stmt)
    if fields is None:
        return None
    try:
        params = json.loads(fields)["params"]
        return params if isinstance(params, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


# --- stats meta ---------------------------------------------------------------------------------------------------


def stats_meta(session: Session) -> dict[str, Any]:
    """``{as_of_slot, refreshed_at}`` of the last node_stats refresh ({} before the first)."""
    # A Core read on the session's connection: the marketplace calls this on every page.
    value = session.connection().execute(select(AppMeta.value).where(AppMeta.key == STATS_META_KEY)).scalar()
    if value is None:
        return {}
    try:
        doc = json.loads(value)
        return doc if isinstance(doc, dict) else {}
    except ValueError:
        return {}


def put_stats_meta(session: Session, doc: dict[str, Any]) -> None:
    row = session.get(AppMeta, STATS_META_KEY)
    text = json.dumps(doc, sort_keys=True)
    if row is None:
        session.add(AppMeta(key=STATS_META_KEY, value=text))
    elif row.value != text:
        row.value = text
