"""Projections the API reads (nodes, stake positions and their unbonding entries, distributor roots, claims),
from finalized events, kept incrementally.

Each finalized event is applied exactly once: ``program_events.projected`` is set in the same transaction as the
rows it changed, and ``apply_events`` takes the events not yet projected, whatever batch they came in (so
applying twice, or after a crash, changes nothing). Work per batch is bounded by its events: a node's row holds
its pools and the key of the last event applied (``applied_*``); new events are applied on top of it through the
program's share-pool arithmetic (``indexer/stakepool.py``), touching only the positions they name. The values of a
node's other positions and entries (shares times the pool's price) are refreshed when its pools changed: that is
proportional to the node's positions, never to its history. An event that sorts before the last one applied (the
events of one slot split across two batches) makes that node replay from its first event: the rows always equal
a replay from scratch in (slot, signature, event index) order (``rebuild_all``; tested).

The chain stays the source of truth: ``iog indexer reconcile`` compares these rows with the program's accounts.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from backend.models.indexer import (
    DistributorRoot,
    RewardClaim,
    StakePosition,
    StakeUnbondingEntry,
    StakingNode,
)
from indexer.stakepool import NODE_EVENTS, Entry, EventKey, NodeState, Position, share_value
from indexer.store import EVENTS, FINALIZED

NODES: Table = StakingNode.__table__  # type: ignore[assignment]
POSITIONS: Table = StakePosition.__table__  # type: ignore[assignment]
ENTRIES: Table = StakeUnbondingEntry.__table__  # type: ignore[assignment]
ROOTS: Table = DistributorRoot.__table__  # type: ignore[assignment]
CLAIMS: Table = RewardClaim.__table__  # type: ignore[assignment]

__all__ = ["ENTRIES", "NODES", "POSITIONS", "apply_events", "rebuild_all", "replay_node", "share_value"]

log = logging.getLogger(__name__)

EventRow = Any  # a row of program_events with the columns of _COLS

_COLS = (
    EVENTS.c.signature,
    EVENTS.c.ix_path,
    EVENTS.c.event_index,
    EVENTS.c.slot,
    EVENTS.c.name,
    EVENTS.c.subject,
    EVENTS.c.fields,
    EVENTS.c.error,
)


def _key(r: EventRow) -> EventKey:
    return int(r.slot), str(r.signature), int(r.event_index)


def apply_events(conn: Connection, events: Iterable[dict[str, Any]] | None = None) -> int:
    """Apply every finalized event not yet projected; returns how many events were taken.

    ``events`` (the batch just written) is not needed: the database says which events are new, so a call after a
    crash, a repeated call or a call with another batch's events all do the right thing.
    """
    del events
    rows = conn.execute(
        select(*_COLS)
        .where(EVENTS.c.projected.is_(False), EVENTS.c.status == FINALIZED)
        .order_by(EVENTS.c.slot, EVENTS.c.signature, EVENTS.c.event_index)
    ).all()
    if not rows:
        return 0
    nodes: dict[str, list[EventRow]] = defaultdict(list)
    wallets: dict[str, list[EventRow]] = defaultdict(list)
    epochs: dict[str, list[EventRow]] = defaultdict(list)
    for r in rows:
        if r.error or not r.name or not r.subject:
            continue
        if r.name in NODE_EVENTS:
            nodes[r.subject].append(r)
        elif r.name == "Claimed":
            wallets[r.subject].append(r)
        elif r.name == "RewardsRootPosted":
            epochs[r.subject].append(r)
    for node in sorted(nodes):
        _project_node(conn, node, nodes[node])
    for wallet in sorted(wallets):
        _project_claims(conn, wallet, wallets[wallet])
    for epoch in sorted(epochs):
        _project_root(conn, epoch, epochs[epoch])
    conn.execute(
        update(EVENTS)
        .where(
            EVENTS.c.signature == bindparam("s"),
            EVENTS.c.ix_path == bindparam("p"),
            EVENTS.c.event_index == bindparam("i"),
        )
        .values(projected=True),
        [{"s": r.signature, "p": r.ix_path, "i": r.event_index} for r in rows],
    )
    return len(rows)


def rebuild_all(conn: Connection) -> None:
    """Recompute every projection from scratch (a replay of all finalized events)."""
    for t in (NODES, POSITIONS, ENTRIES, ROOTS, CLAIMS):
        conn.execute(delete(t))
    conn.execute(update(EVENTS).where(EVENTS.c.projected.is_(True)).values(projected=False))
    apply_events(conn)


# -- nodes ---------------------------------------------------------------------------------------------------


def replay_node(node: str, events: Sequence[tuple[EventKey, str, dict[str, Any]]]) -> tuple[NodeState, list[Position]]:
    """A node's state and positions from its events (in order), starting from nothing."""
    state = NodeState(node)
    positions: dict[str, Position] = {}

    def position(owner: str) -> Position:
        return positions.setdefault(owner, Position(owner))

    for key, name, fields in events:
        state.apply(key, name, fields, position)
    return state, list(positions.values())


def _project_node(conn: Connection, node: str, new: list[EventRow]) -> None:
    row = conn.execute(select(NODES).where(NODES.c.node == node)).first()
    state = NodeState.from_row(row) if row is not None else NodeState(node)
    if row is not None and (state.applied is None or _key(new[0]) <= state.applied):
        log.info("node %s: event %s sorts before the last one applied; replaying the node", node, _key(new[0]))
        _replay_node(conn, node)
        return
    before = state.pools()
    positions: dict[str, Position] = {}

    def position(owner: str) -> Position:
        if owner not in positions:
            positions[owner] = _load_position(conn, node, owner)
        return positions[owner]

    for r in new:
        state.apply(_key(r), r.name, json.loads(r.fields), position)
    _store(conn, state, list(positions.values()), replace_node=row is not None)
    if state.pools() != before:
        _refresh_values(conn, state, skip=set(positions))


def _replay_node(conn: Connection, node: str) -> None:
    rows = conn.execute(
        select(*_COLS)
        .where(EVENTS.c.subject == node, EVENTS.c.status == FINALIZED, EVENTS.c.error.is_(None))
        .order_by(EVENTS.c.slot, EVENTS.c.signature, EVENTS.c.event_index)
    ).all()
    events = [(_key(r), r.name, json.loads(r.fields)) for r in rows if r.name in NODE_EVENTS]
    state, positions = replay_node(node, events)
    for t in (POSITIONS, ENTRIES):
        conn.execute(delete(t).where(t.c.node == node))
    _store(conn, state, positions, replace_node=True)


def _load_position(conn: Connection, node: str, owner: str) -> Position:
    r = conn.execute(select(POSITIONS).where(POSITIONS.c.node == node, POSITIONS.c.owner == owner)).first()
    if r is None:
        return Position(owner)
    entries = conn.execute(
        select(ENTRIES)
        .where(ENTRIES.c.node == node, ENTRIES.c.owner == owner)
        .order_by(ENTRIES.c.slot, ENTRIES.c.signature, ENTRIES.c.event_index)
    ).all()
    return Position(
        owner,
        shares=int(r.shares),
        unbonding_shares=int(r.unbonding_shares),
        withdrawn=int(r.withdrawn),
        last_slot=int(r.last_slot),
        entries=[
            Entry(e.signature, int(e.event_index), int(e.slot), int(e.amount), int(e.shares), int(e.unlock_time))
            for e in entries
        ],
    )


def _store(conn: Connection, state: NodeState, positions: list[Position], *, replace_node: bool) -> None:
    """Write the node's row and the rows of ``positions`` (with their entries), replacing what was there."""
    if replace_node:
        conn.execute(delete(NODES).where(NODES.c.node == state.node))
    conn.execute(NODES.insert(), [state.row()])
    if not positions:
        return
    owners = [p.owner for p in positions]
    for t in (POSITIONS, ENTRIES):
        conn.execute(delete(t).where(t.c.node == state.node, t.c.owner.in_(owners)))
    conn.execute(POSITIONS.insert(), [state.position_row(p) for p in positions])
    entries = [e for p in positions for e in state.entry_rows(p)]
    if entries:
        conn.execute(ENTRIES.insert(), entries)


def _refresh_values(conn: Connection, state: NodeState, skip: set[str]) -> None:
    """The node's pools changed: update the value of its other positions and entries (shares are unchanged)."""
    node = state.node
    changed = []
    cols = (
        POSITIONS.c.owner,
        POSITIONS.c.shares,
        POSITIONS.c.unbonding_shares,
        POSITIONS.c.bonded,
        POSITIONS.c.unbonding,
    )
    for r in conn.execute(select(*cols).where(POSITIONS.c.node == node)):
        if r.owner in skip:
            continue
        bonded, unbonding = state.bonded(int(r.shares)), state.unbonding(int(r.unbonding_shares))
        if (bonded, unbonding) != (int(r.bonded), int(r.unbonding)):
            changed.append({"o": r.owner, "b": bonded, "u": unbonding})
    if changed:
        conn.execute(
            update(POSITIONS)
            .where(POSITIONS.c.node == node, POSITIONS.c.owner == bindparam("o"))
            .values(bonded=bindparam("b"), unbonding=bindparam("u")),
            changed,
        )
    moved = []
    cols = (ENTRIES.c.owner, ENTRIES.c.signature, ENTRIES.c.event_index, ENTRIES.c.shares, ENTRIES.c.value)
    for e in conn.execute(select(*cols).where(ENTRIES.c.node == node)):
        value = state.unbonding(int(e.shares))
        if e.owner not in skip and value != int(e.value):
            moved.append({"o": e.owner, "s": e.signature, "i": e.event_index, "v": value})
    if moved:
        conn.execute(
            update(ENTRIES)
            .where(
                ENTRIES.c.node == node,
                ENTRIES.c.owner == bindparam("o"),
                ENTRIES.c.signature == bindparam("s"),
                ENTRIES.c.event_index == bindparam("i"),
            )
            .values(value=bindparam("v")),
            moved,
        )


# -- claims and roots ----------------------------------------------------------------------------------------


def _project_claims(conn: Connection, wallet: str, new: list[EventRow]) -> None:
    """Lifetime claimed (the largest cumulative amount), claim count and last slot: order does not matter."""
    row = conn.execute(select(CLAIMS).where(CLAIMS.c.wallet == wallet)).first()
    total = max(int(json.loads(r.fields)["cumulativeAmount"]) for r in new)
    out = {
        "wallet": wallet,
        "claimed_total": max(total, int(row.claimed_total)) if row else total,
        "claims": len(new) + (int(row.claims) if row else 0),
        "last_slot": max([int(r.slot) for r in new] + ([int(row.last_slot)] if row else [])),
    }
    conn.execute(delete(CLAIMS).where(CLAIMS.c.wallet == wallet))
    conn.execute(CLAIMS.insert(), [out])


def _project_root(conn: Connection, epoch: str, new: list[EventRow]) -> None:
    """The root of an epoch from its last event in (slot, signature) order."""
    last = new[-1]
    row = conn.execute(select(ROOTS).where(ROOTS.c.epoch == int(epoch))).first()
    if row is not None and (int(row.slot), str(row.signature)) > (int(last.slot), str(last.signature)):
        return
    f = json.loads(last.fields)
    conn.execute(delete(ROOTS).where(ROOTS.c.epoch == int(epoch)))
    conn.execute(
        ROOTS.insert(),
        [
            {
                "epoch": int(epoch),
                "root": f["root"],
                "amount": int(f["funding"]),
                "signature": last.signature,
                "slot": int(last.slot),
            }
        ],
    )
