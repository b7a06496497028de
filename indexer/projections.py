"""Projections the API reads (nodes, stake positions and their unbonding entries, distributor roots, claims),
from finalized events, kept incrementally.

Each finalized event is applied exactly once: ``program_events.projected`` is set in the same transaction as the
rows it changed, and ``apply_events`` takes the events not yet projected, whatever batch they came in (so
applying twice, or after a crash, changes nothing). Work per batch is bounded by its events: a node's row holds
its pools and the key of the last event applied (``applied_*``); new events are applied on top of it through the
program's share-pool arithmetic (``backend/chain/stakepool.py``), touching only the positions they name. The values of a
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
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from backend.chain.stakepool import NODE_EVENTS, Entry, EventKey, NodeState, Position, replay_node, share_value
from backend.models.base import Money
from backend.models.staking import DistributorRoot, RewardClaim, StakePosition, StakeUnbondingEntry, StakingNode
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

    The database says which events are new (``projected``), so a repeated call, a call after a crash or a call
    with another batch's events all do the right thing. ``events`` is the batch just written: when it holds no
    finalized event, nothing new can be waiting (every write projects its events in its own transaction), so the
    pending (confirmed) path returns at once and never projects beside a running backfill; ``None`` (the start
    of a finalized pass, after a migration reset the projections) looks at the database.
    """
    if events is not None and not any(e.get("status") == FINALIZED for e in events):
        return 0
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
    if wallets:
        _project_claims(conn, wallets)
    if epochs:
        _project_roots(conn, epochs)
    _mark_projected(conn, [(r[0], r[1], int(r[2])) for r in rows])
    return len(rows)


def _mark_projected(conn: Connection, keys: list[tuple[str, str, int]]) -> None:
    """Set ``projected`` on exactly these events (signature, ix_path, event_index): an event another writer
    committed meanwhile stays unprojected, for the next call. One statement on PostgreSQL, one executemany on
    SQLite, without the ORM's per-row parameter work (this runs for every event)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE program_events SET projected = true FROM (SELECT unnest(%(s)s::text[]) AS s, "
            "unnest(%(p)s::text[]) AS p, unnest(%(i)s::int[]) AS i) AS k "
            "WHERE signature = k.s AND ix_path = k.p AND event_index = k.i",
            {"s": [k[0] for k in keys], "p": [k[1] for k in keys], "i": [k[2] for k in keys]},
        )
        return
    conn.exec_driver_sql(
        "UPDATE program_events SET projected = 1 WHERE signature = ? AND ix_path = ? AND event_index = ?", keys
    )


def rebuild_all(conn: Connection) -> None:
    """Recompute every projection from scratch (a replay of all finalized events)."""
    for t in (NODES, POSITIONS, ENTRIES, ROOTS, CLAIMS):
        conn.execute(delete(t))
    conn.execute(update(EVENTS).where(EVENTS.c.projected.is_(True)).values(projected=False))
    apply_events(conn)


# -- nodes ---------------------------------------------------------------------------------------------------


def _project_node(conn: Connection, node: str, new: list[EventRow]) -> None:
    row = conn.execute(select(NODES).where(NODES.c.node == node)).first()
    state = NodeState.from_row(row) if row is not None else NodeState(node)
    if row is not None and (state.applied is None or _key(new[0]) <= state.applied):
        log.info("node %s: event %s sorts before the last one applied; replaying the node", node, _key(new[0]))
        _replay_node(conn, node)
        return
    before = state.pools()
    fields = [json.loads(r.fields) for r in new]
    positions = _load_positions(conn, node, sorted({f["owner"] for f in fields if "owner" in f}))

    def position(owner: str) -> Position:
        return positions.setdefault(owner, Position(owner))

    for r, f in zip(new, fields, strict=True):
        state.apply(_key(r), r.name, f, position)
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


def _load_positions(conn: Connection, node: str, owners: list[str]) -> dict[str, Position]:
    """The stored positions (with their entries) of ``owners`` on ``node``; owners without a row are left out."""
    if not owners:
        return {}
    out = {
        r.owner: Position(
            r.owner,
            shares=int(r.shares),
            unbonding_shares=int(r.unbonding_shares),
            withdrawn=int(r.withdrawn),
            last_slot=int(r.last_slot),
        )
        for r in conn.execute(select(POSITIONS).where(POSITIONS.c.node == node, POSITIONS.c.owner.in_(owners)))
    }
    entries = conn.execute(
        select(ENTRIES)
        .where(ENTRIES.c.node == node, ENTRIES.c.owner.in_(owners))
        .order_by(ENTRIES.c.slot, ENTRIES.c.signature, ENTRIES.c.event_index)
    )
    for e in entries:
        out[e.owner].entries.append(
            Entry(e.signature, int(e.event_index), int(e.slot), int(e.amount), int(e.shares), int(e.unlock_time))
        )
    return out


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
    _insert(conn, POSITIONS, [state.position_row(p) for p in positions])
    _insert(conn, ENTRIES, [e for p in positions for e in state.entry_rows(p)])


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows: one ``INSERT ... SELECT FROM json_populate_recordset`` on PostgreSQL (one round trip; integers
    travel as exact JSON numbers), an executemany in process on SQLite."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    cols = ", ".join(rows[0])
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::"{table.name}", '
        "%(rows)s::json)",
        {"rows": json.dumps(rows)},
    )


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
            changed.append({"node": node, "owner": r.owner, "bonded": bonded, "unbonding": unbonding})
    _update(conn, POSITIONS, ["node", "owner"], changed)
    moved = []
    cols = (ENTRIES.c.owner, ENTRIES.c.signature, ENTRIES.c.event_index, ENTRIES.c.shares, ENTRIES.c.value)
    for e in conn.execute(select(*cols).where(ENTRIES.c.node == node)):
        value = state.unbonding(int(e.shares))
        if e.owner not in skip and value != int(e.value):
            moved.append(
                {"node": node, "owner": e.owner, "signature": e.signature, "event_index": e.event_index, "value": value}
            )
    _update(conn, ENTRIES, ["node", "owner", "signature", "event_index"], moved)


def _update(conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Set the non-key columns of ``rows`` on the rows of ``table`` they name by ``keys``.

    PostgreSQL: one ``UPDATE ... FROM unnest(...)`` (values travel as text and are cast, so amounts stay exact);
    SQLite: an executemany in process."""
    if not rows:
        return
    cols = list(rows[0])
    sets = [c for c in cols if c not in keys]
    if conn.dialect.name != "postgresql":
        stmt = update(table).values({c: bindparam(f"v_{c}") for c in sets})
        for k in keys:
            stmt = stmt.where(table.c[k] == bindparam(f"v_{k}"))
        conn.execute(stmt, [{f"v_{c}": r[c] for c in cols} for r in rows])
        return
    cast = {
        c: "numeric" if isinstance(table.c[c].type, Money) else "bigint" if c == "event_index" else "text" for c in cols
    }
    source = ", ".join(f"unnest(%({c})s::text[])::{cast[c]} AS {c}" for c in cols)
    conn.exec_driver_sql(
        f'UPDATE "{table.name}" AS t SET {", ".join(f"{c} = v.{c}" for c in sets)} FROM (SELECT {source}) AS v '
        f"WHERE {' AND '.join(f't.{k} = v.{k}' for k in keys)}",
        {c: [str(r[c]) for r in rows] for c in cols},
    )


# -- claims and roots ----------------------------------------------------------------------------------------


def _project_claims(conn: Connection, wallets: dict[str, list[EventRow]]) -> None:
    """Lifetime claimed (the largest cumulative amount), claim count and last slot per wallet: order-free."""
    keys = sorted(wallets)
    old = {r.wallet: r for r in conn.execute(select(CLAIMS).where(CLAIMS.c.wallet.in_(keys)))}
    out = []
    for wallet in keys:
        new, row = wallets[wallet], old.get(wallet)
        total = max(int(json.loads(r.fields)["cumulativeAmount"]) for r in new)
        out.append(
            {
                "wallet": wallet,
                "claimed_total": max(total, int(row.claimed_total)) if row else total,
                "claims": len(new) + (int(row.claims) if row else 0),
                "last_slot": max([int(r.slot) for r in new] + ([int(row.last_slot)] if row else [])),
            }
        )
    conn.execute(delete(CLAIMS).where(CLAIMS.c.wallet.in_(keys)))
    conn.execute(CLAIMS.insert(), out)


def _project_roots(conn: Connection, epochs: dict[str, list[EventRow]]) -> None:
    """The root of each epoch from its last event in (slot, signature) order."""
    keys = sorted(int(e) for e in epochs)
    old = {
        int(r.epoch): (int(r.slot), str(r.signature))
        for r in conn.execute(select(ROOTS).where(ROOTS.c.epoch.in_(keys)))
    }
    out = []
    for epoch, new in epochs.items():
        last = new[-1]
        if old.get(int(epoch), (-1, "")) > (int(last.slot), str(last.signature)):
            continue
        f = json.loads(last.fields)
        out.append(
            {
                "epoch": int(epoch),
                "root": f["root"],
                "amount": int(f["funding"]),
                "signature": last.signature,
                "slot": int(last.slot),
            }
        )
    if out:
        conn.execute(delete(ROOTS).where(ROOTS.c.epoch.in_([r["epoch"] for r in out])))
        conn.execute(ROOTS.insert(), out)
