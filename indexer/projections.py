"""Projections the API reads (nodes, stake positions, distributor roots, claims), from finalized events.

Each affected subject (node, wallet, epoch) is recomputed from all of its finalized, well-formed events, so
applying the same events twice, or in another order within a slot, gives the same rows. The chain stays the
source of truth: ``iog indexer reconcile`` compares these rows with the program's accounts.

Node and position rows replay the program's share-pool arithmetic (bonded pool: stake/shares; unbonding
pool: stake/shares; a slash cuts both pro rata), so ``bonded`` and ``unbonding`` are the current values of a
position's shares, exactly as the program computes them. Events are replayed in (slot, signature, event)
order: chain order within one slot is not known from getTransaction, so a slash and a stake change of the
same node in the same slot may replay out of order (logged; reconcile shows it).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, delete, select

from backend.models.staking import DistributorRoot, RewardClaim, StakePosition, StakingNode
from indexer.store import EVENTS, FINALIZED

NODES: Table = StakingNode.__table__  # type: ignore[assignment]
POSITIONS: Table = StakePosition.__table__  # type: ignore[assignment]
ROOTS: Table = DistributorRoot.__table__  # type: ignore[assignment]
CLAIMS: Table = RewardClaim.__table__  # type: ignore[assignment]

log = logging.getLogger(__name__)

NODE_EVENTS = {
    "NodeRegistered",
    "Staked",
    "UnstakeRequested",
    "Withdrawn",
    "CommissionScheduled",
    "Slashed",
    "NodeDeactivated",
}


def apply_events(conn: Connection, events: Iterable[dict[str, Any]]) -> None:
    """Recompute every projection row the given (finalized) events touch."""
    nodes: set[str] = set()
    wallets: set[str] = set()
    epochs: set[str] = set()
    for e in events:
        if e.get("error") or not e.get("name") or not e.get("subject"):
            continue
        if e["name"] in NODE_EVENTS:
            nodes.add(e["subject"])
        elif e["name"] == "Claimed":
            wallets.add(e["subject"])
        elif e["name"] == "RewardsRootPosted":
            epochs.add(e["subject"])
    for node in sorted(nodes):
        _recompute_node(conn, node)
    for wallet in sorted(wallets):
        _recompute_claims(conn, wallet)
    for epoch in sorted(epochs):
        _recompute_root(conn, epoch)


def rebuild_all(conn: Connection) -> None:
    """Recompute every projection from scratch."""
    for t in (NODES, POSITIONS, ROOTS, CLAIMS):
        conn.execute(delete(t))
    rows = conn.execute(
        select(EVENTS.c.name, EVENTS.c.subject, EVENTS.c.error).where(EVENTS.c.status == FINALIZED)
    ).all()
    apply_events(conn, [{"name": r[0], "subject": r[1], "error": r[2]} for r in rows])


def _events(conn: Connection, subject: str) -> list[tuple[str, int, dict[str, Any], str]]:
    rows = conn.execute(
        select(EVENTS.c.name, EVENTS.c.slot, EVENTS.c.fields, EVENTS.c.signature)
        .where(EVENTS.c.subject == subject, EVENTS.c.status == FINALIZED, EVENTS.c.error.is_(None))
        .order_by(EVENTS.c.slot, EVENTS.c.signature, EVENTS.c.event_index)
    ).all()
    return [(r[0], int(r[1]), json.loads(r[2]), r[3]) for r in rows]


BPS = 10_000


def share_value(shares: int, stake: int, total_shares: int) -> int:
    """Value of ``shares`` in a pool, rounded down (the program's rule; the last holder takes the pool)."""
    if total_shares == 0:
        return 0
    if shares == total_shares:
        return stake
    return shares * stake // total_shares


def _recompute_node(conn: Connection, node: str) -> None:
    """Replay the node's events through the program's share-pool arithmetic (see programs/staking/src/stake.c)."""
    evs = _events(conn, node)
    row: dict[str, Any] = {
        "node": node,
        "operator": None,
        "commission_bps": None,
        "pending_commission_bps": None,
        "commission_effective_at": None,
        "active": True,
        "total_stake": 0,
        "total_shares": 0,
        "unbonding_stake": 0,
        "unbonding_shares": 0,
        "slashed_total": 0,
        "last_slot": 0,
    }
    pos: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"shares": 0, "unbonding_shares": 0, "unlock_time": None, "withdrawn": 0, "last_slot": 0}
    )
    for name, slot, f, sig in evs:
        row["last_slot"] = max(row["last_slot"], slot)
        if name == "NodeRegistered":
            row["operator"] = f["operator"]
            row["commission_bps"] = f["commissionBps"]
        elif name == "CommissionScheduled":
            row["pending_commission_bps"] = f["newBps"]
            row["commission_effective_at"] = int(f["effectiveAt"])
        elif name == "NodeDeactivated":
            row["active"] = False
        elif name == "Slashed":
            bps, amount = int(f["slashBps"]), int(f["amount"])
            cut_bonded = row["total_stake"] * bps // BPS
            cut_unbonding = row["unbonding_stake"] * bps // BPS
            if cut_bonded + cut_unbonding != amount:
                # Events out of chain order within a slot; reconcile will show the node; keep the total exact.
                log.warning(
                    "slash %s of node %s does not replay (%d + %d != %d)", sig, node, cut_bonded, cut_unbonding, amount
                )
                cut_bonded = min(row["total_stake"], max(0, amount - cut_unbonding))
                cut_unbonding = amount - cut_bonded
            row["total_stake"] -= cut_bonded
            row["unbonding_stake"] -= cut_unbonding
            row["slashed_total"] += amount
        elif name in ("Staked", "UnstakeRequested", "Withdrawn"):
            p = pos[f["owner"]]
            p["last_slot"] = max(p["last_slot"], slot)
            amount = int(f["amount"])
            if name == "Staked":
                row["total_stake"] += amount
                row["total_shares"] += int(f["shares"])
                p["shares"] += int(f["shares"])
            elif name == "UnstakeRequested":
                burned = int(f["sharesBurned"])
                row["total_stake"] -= amount
                row["total_shares"] -= burned
                p["shares"] -= burned
                if row["unbonding_shares"] == 0:
                    minted = amount
                elif row["unbonding_stake"] == 0:
                    minted = 0
                else:
                    minted = amount * row["unbonding_shares"] // row["unbonding_stake"]
                row["unbonding_stake"] += amount
                row["unbonding_shares"] += minted
                p["unbonding_shares"] += minted
                p["unlock_time"] = int(f["unlockTime"])  # a later request restarts the cooldown
            else:
                row["unbonding_stake"] -= amount
                row["unbonding_shares"] -= p["unbonding_shares"]
                p["unbonding_shares"] = 0
                p["unlock_time"] = None
                p["withdrawn"] += amount
    for p in pos.values():
        p["bonded"] = share_value(p["shares"], row["total_stake"], row["total_shares"])
        p["unbonding"] = share_value(p["unbonding_shares"], row["unbonding_stake"], row["unbonding_shares"])
    conn.execute(delete(NODES).where(NODES.c.node == node))
    conn.execute(NODES.insert(), [row])
    conn.execute(delete(POSITIONS).where(POSITIONS.c.node == node))
    if pos:
        conn.execute(POSITIONS.insert(), [{"node": node, "owner": o, **p} for o, p in pos.items()])


def _recompute_claims(conn: Connection, wallet: str) -> None:
    evs = [e for e in _events(conn, wallet) if e[0] == "Claimed"]
    conn.execute(delete(CLAIMS).where(CLAIMS.c.wallet == wallet))
    if evs:
        conn.execute(
            CLAIMS.insert(),
            [
                {
                    "wallet": wallet,
                    "claimed_total": max(int(f["cumulativeAmount"]) for _n, _s, f, _g in evs),
                    "claims": len(evs),
                    "last_slot": max(s for _n, s, _f, _g in evs),
                }
            ],
        )


def _recompute_root(conn: Connection, epoch: str) -> None:
    evs = [e for e in _events(conn, epoch) if e[0] == "RewardsRootPosted"]
    conn.execute(delete(ROOTS).where(ROOTS.c.epoch == int(epoch)))
    if evs:
        _n, slot, f, sig = evs[-1]
        conn.execute(
            ROOTS.insert(),
            [
                {
                    "epoch": int(epoch),
                    "root": f["root"],
                    "amount": int(f["funding"]),
                    "signature": sig,
                    "slot": slot,
                }
            ],
        )
