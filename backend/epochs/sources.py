"""Every read of another domain's tables that heartbeats and the epoch runner need, in one module.

The registry is read through the nodes domain's service functions; the staking projections (the indexer's,
backend/models/staking.py) directly, as read-only facts. Callers only see the dataclasses and dicts below.

Node identity: heartbeats and usage name a node by its device key (``node_key``); the chain and the rewards
input by its Node account (``node`` = ``pdas.node_pda(program_id, node_key)``, recorded in ``node_records``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models.indexer import FINALIZED, IndexerCursor, ProgramEvent
from backend.models.staking import DistributorRoot, RewardClaim, StakePosition, StakingNode
from backend.staking import repository as staking_repository

_CHUNK = 5_000  # keys per IN (...) list


def _chunks(keys: Collection[str]) -> Iterable[list[str]]:
    items = list(keys)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


@dataclass(frozen=True)
class NodeIdentity:
    """What heartbeats check a node against: its registry record and its on-chain state.

    ``active`` is False when the chain has no finalized NodeRegistered for the record's Node account, or the
    node was deactivated; ``gpu_units`` is the registered count on chain (the record's while the chain has none).
    """

    node_key: str
    node: str
    operator: str
    gpu_model: str
    gpu_units: int
    active: bool


def node_identities(session: Session, node_keys: Collection[str]) -> dict[str, NodeIdentity]:
    """Registry record + chain state per node key; keys with no record are absent (``unknown_node``)."""
    from backend.nodes.service import registry_by_node_key

    records = list(registry_by_node_key(session, node_keys).values())
    if not records:
        return {}
    pdas = [r.node for r in records]
    chain = chain_nodes(session, pdas)
    out = {}
    for r in records:
        c = chain.get(r.node)
        active = c is not None and c.active and c.operator == r.operator
        units = c.gpu_units if c is not None and c.gpu_units else r.gpu_units
        out[r.node_key] = NodeIdentity(r.node_key, r.node, r.operator, r.gpu_model, units, active)
    return out


def gpu_models(session: Session) -> dict[str, tuple[str, str]]:
    """Node account -> (node key, GPU model) of every registry record."""
    from backend.nodes.service import registry_all

    return {r.node: (r.node_key, r.gpu_model) for r in registry_all(session)}


@dataclass(frozen=True)
class ChainNode:
    """A node as the finalized projections know it."""

    node: str
    operator: str
    active: bool
    gpu_units: int
    commission_bps: int
    pending_commission_bps: int | None
    commission_effective_at: int | None


def chain_nodes(session: Session, nodes: Collection[str] | None = None) -> dict[str, ChainNode]:
    """Nodes of the finalized projections with an operator (all of them when ``nodes`` is None)."""
    cols = (
        StakingNode.node,
        StakingNode.operator,
        StakingNode.active,
        StakingNode.commission_bps,
        StakingNode.pending_commission_bps,
        StakingNode.commission_effective_at,
    )
    rows = []
    if nodes is None:
        rows = list(session.execute(select(*cols).where(StakingNode.operator.is_not(None))))
    else:
        for chunk in _chunks(nodes):
            rows.extend(session.execute(select(*cols).where(StakingNode.node.in_(chunk))))
    units = staking_repository.gpu_units(session, None if nodes is None else [r[0] for r in rows])
    return {
        node: ChainNode(node, op, bool(active), units.get(node, 0), bps or 0, pending, effective)
        for node, op, active, bps, pending, effective in rows
        if op is not None
    }


def stake_entries(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Bonded stake per node: ``node -> [(owner, amount), ...]`` (amount > 0), owners sorted.

    From the finalized projections as they stand (the indexer's state when the epoch closes, recorded as the
    epoch's ``as_of_slot``), not replayed to the epoch's end: see README.md of backend/epochs.
    """
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    rows = session.execute(
        select(StakePosition.node, StakePosition.owner, StakePosition.bonded)
        .where(StakePosition.bonded > 0)
        .order_by(StakePosition.node, StakePosition.owner)
    )
    for node, owner, bonded in rows:
        out[node].append((owner, int(bonded)))
    return out


def slashed_nodes(session: Session, start: int, end: int) -> set[str]:
    """Nodes with a finalized Slashed event whose block time is in ``[start, end)``."""
    rows = session.execute(
        select(ProgramEvent.subject).where(
            ProgramEvent.name == "Slashed",
            ProgramEvent.status == FINALIZED,
            ProgramEvent.error.is_(None),
            ProgramEvent.block_time >= start,
            ProgramEvent.block_time < end,
        )
    )
    return {s for (s,) in rows if s}


def program_as_of_slot(session: Session, program_id: str | None) -> int | None:
    """The finalized slot up to which the indexer has read the staking program (None when unknown)."""
    if program_id is None:
        return None
    cursor = session.get(IndexerCursor, program_id)
    return cursor.synced_slot if cursor is not None else None


def posted_root(session: Session, epoch: int) -> tuple[str | None, int] | None:
    """(root hex, slot) of the finalized RewardsRootPosted of ``epoch``, or None."""
    row = session.get(DistributorRoot, epoch)
    return None if row is None else (row.root, row.slot)


def claimed_total(session: Session, wallet: str) -> tuple[int, int]:
    """(lifetime claimed, claims) of a wallet from finalized Claimed events."""
    row = session.get(RewardClaim, wallet)
    return (0, 0) if row is None else (int(row.claimed_total), int(row.claims))


def indexed_max_slot(session: Session) -> int:
    """The newest finalized slot any indexer cursor has read (0 when none)."""
    return int(session.scalar(select(func.max(IndexerCursor.synced_slot))) or 0)
