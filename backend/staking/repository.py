"""Queries over the indexer's staking projections (``staking_nodes``, ``stake_positions``,
``stake_unbonding_entries``, ``program_events``)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from backend.models.indexer import FINALIZED, ProgramEvent
from backend.models.staking import StakePosition, StakeUnbondingEntry, StakingNode

_CHUNK = 5_000  # keys per IN (...) list


def count_nodes(session: Session) -> int:
    """Number of nodes known to the projections."""
    return int(session.scalar(select(func.count()).select_from(StakingNode)) or 0)


def list_nodes(session: Session, limit: int, offset: int) -> Sequence[StakingNode]:
    """A page of nodes, largest bonded stake first, then by key (a stable order)."""
    stmt = select(StakingNode).order_by(StakingNode.total_stake.desc(), StakingNode.node).limit(limit).offset(offset)
    return session.scalars(stmt).all()


def get_node(session: Session, node: str) -> StakingNode | None:
    """One node, or None when the indexer has not seen it."""
    return session.get(StakingNode, node)


def gpu_units(session: Session, nodes: Collection[str] | None) -> dict[str, int]:
    """GPU units per node from its finalized, well-formed ``NodeRegistered`` event (not kept in the projection);
    ``None`` asks for every node. Long node lists are read in chunks (one ``IN (...)`` per 5,000 keys)."""
    stmt = select(ProgramEvent.subject, ProgramEvent.fields).where(
        ProgramEvent.name == "NodeRegistered", ProgramEvent.status == FINALIZED, ProgramEvent.error.is_(None)
    )
    keys = None if nodes is None else list(nodes)
    chunks = [stmt] if keys is None else [
        stmt.where(ProgramEvent.subject.in_(keys[i : i + _CHUNK])) for i in range(0, len(keys), _CHUNK)
    ]
    out: dict[str, int] = {}
    for q in chunks:
        for subject, fields in session.execute(q):
            if subject is None:
                continue
            try:
                out[subject] = int(json.loads(fields or "{}")["gpuUnits"])
            except (KeyError, TypeError, ValueError):
                continue
    return out


def operator_stakes(session: Session, nodes: Sequence[str]) -> dict[str, int]:
    """Bonded value of each node's operator's own position."""
    if not nodes:
        return {}
    stmt = (
        select(StakePosition.node, StakePosition.bonded)
        .join(StakingNode, and_(StakingNode.node == StakePosition.node, StakingNode.operator == StakePosition.owner))
        .where(StakePosition.node.in_(nodes))
    )
    return {node: int(bonded) for node, bonded in session.execute(stmt)}


def position_counts(session: Session, nodes: Sequence[str]) -> dict[str, int]:
    """Number of positions per node."""
    if not nodes:
        return {}
    stmt = select(StakePosition.node, func.count()).where(StakePosition.node.in_(nodes)).group_by(StakePosition.node)
    return {node: int(n) for node, n in session.execute(stmt)}


def node_positions(session: Session, node: str, limit: int, offset: int) -> Sequence[StakePosition]:
    """A page of a node's positions, largest bonded first, then by owner."""
    stmt = (
        select(StakePosition)
        .where(StakePosition.node == node)
        .order_by(StakePosition.bonded.desc(), StakePosition.owner)
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(stmt).all()


def wallet_positions(session: Session, wallet: str) -> Sequence[StakePosition]:
    """Every position a wallet owns, by node."""
    stmt = select(StakePosition).where(StakePosition.owner == wallet).order_by(StakePosition.node)
    return session.scalars(stmt).all()


def unbonding_pools(session: Session, nodes: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(unbonding_stake, unbonding_shares) of each node: what its entries are worth together."""
    if not nodes:
        return {}
    stmt = select(StakingNode.node, StakingNode.unbonding_stake, StakingNode.unbonding_shares).where(
        StakingNode.node.in_(nodes)
    )
    return {node: (int(stake), int(shares)) for node, stake, shares in session.execute(stmt)}


def entries(
    session: Session, positions: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[StakeUnbondingEntry]]:
    """The unbonding entries of each (node, owner), in request order."""
    if not positions:
        return {}
    nodes = sorted({n for n, _ in positions})
    owners = sorted({o for _, o in positions})
    stmt = (
        select(StakeUnbondingEntry)
        .where(StakeUnbondingEntry.node.in_(nodes), StakeUnbondingEntry.owner.in_(owners))
        .order_by(StakeUnbondingEntry.slot, StakeUnbondingEntry.signature, StakeUnbondingEntry.event_index)
    )
    wanted = set(positions)
    out: dict[tuple[str, str], list[StakeUnbondingEntry]] = {}
    for e in session.scalars(stmt):
        if (e.node, e.owner) in wanted:
            out.setdefault((e.node, e.owner), []).append(e)
    return out


NodeEvents = list[tuple[tuple[int, str, int], str, dict[str, Any]]]


def node_events_through(session: Session, slot: int) -> dict[str, NodeEvents]:
    """Every finalized, well-formed node event at or below ``slot``, per node, in replay order
    (slot, signature, event index): the input of :func:`backend.chain.stakepool.replay_node`."""
    from backend.chain.stakepool import NODE_EVENTS

    stmt = (
        select(ProgramEvent.subject, ProgramEvent.slot, ProgramEvent.signature, ProgramEvent.event_index,
               ProgramEvent.name, ProgramEvent.fields)
        .where(
            ProgramEvent.status == FINALIZED,
            ProgramEvent.error.is_(None),
            ProgramEvent.slot <= slot,
            ProgramEvent.name.in_(sorted(NODE_EVENTS)),
        )
        .order_by(ProgramEvent.slot, ProgramEvent.signature, ProgramEvent.event_index)
    )  # fmt: skip
    out: dict[str, NodeEvents] = {}
    for subject, s, sig, idx, name, fields in session.execute(stmt):
        if subject is None or name is None:
            continue
        out.setdefault(subject, []).append(((int(s), str(sig), int(idx)), name, json.loads(fields or "{}")))
    return out


def bonded_by_owner(session: Session, owners: Sequence[str]) -> dict[str, int]:
    """Current bonded value of every position of each owner, summed over nodes (0 for an owner without any)."""
    out = dict.fromkeys(owners, 0)
    for i in range(0, len(owners), 500):
        chunk = list(owners[i : i + 500])
        stmt = (
            select(StakePosition.owner, func.sum(StakePosition.bonded))
            .where(StakePosition.owner.in_(chunk))
            .group_by(StakePosition.owner)
        )
        for owner, total in session.execute(stmt):
            out[owner] = int(total or 0)
    return out
