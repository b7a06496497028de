"""The staking program's share-pool arithmetic, replayed from its events: one node's state, one event at a time.

Pure (no I/O), shared by the indexer and the backend: ``indexer/projections.py`` loads a node's state (or starts
from nothing), applies events in order (slot, signature, event index) and stores the result; a replay from a
node's first event and the incremental path use the same ``NodeState.apply``. The rules follow
``programs/staking/src/stake.c`` and ``slash.c``: a node has a bonded pool (stake/shares) and an unbonding pool
(stake/shares); a position holds bonded shares and up to 8 unbonding entries, each with shares of the unbonding
pool and its own unlock time; a slash cuts both pools pro rata, so every entry bears it until withdrawn; a
withdraw pays the entries whose unlock time has passed. :func:`replay_node` replays a node from nothing (the
indexer's full replay, and governance's stake at a past slot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.money import BPS

log = logging.getLogger(__name__)

#: Order in which events are applied: (slot, signature, event index). Chain order inside one slot is not known
#: from getTransaction; a slash and a stake change of one node in one slot may apply out of chain order (logged;
#: ``iog indexer reconcile`` shows it).
EventKey = tuple[int, str, int]

NODE_EVENTS = frozenset(
    {"NodeRegistered", "Staked", "UnstakeRequested", "Withdrawn", "CommissionScheduled", "Slashed", "NodeDeactivated"}
)


def share_value(shares: int, stake: int, total_shares: int) -> int:
    """Value of ``shares`` in a pool, rounded down (the program's rule; the last holder takes the pool)."""
    if total_shares == 0:
        return 0
    if shares == total_shares:
        return stake
    return shares * stake // total_shares


@dataclass
class Entry:
    """An unbonding entry, keyed by the event of the request that added it."""

    signature: str
    event_index: int
    slot: int
    amount: int
    shares: int
    unlock_time: int


@dataclass
class Position:
    """One owner's shares on a node, its unbonding entries (in request order) and what it withdrew."""

    owner: str
    shares: int = 0
    unbonding_shares: int = 0
    withdrawn: int = 0
    last_slot: int = 0
    entries: list[Entry] = field(default_factory=list)


@dataclass
class NodeState:
    """The projected state of one node: its row, and the positions ``apply`` asked for."""

    node: str
    operator: str | None = None
    commission_bps: int | None = None
    pending_commission_bps: int | None = None
    commission_effective_at: int | None = None
    active: bool = True
    total_stake: int = 0
    total_shares: int = 0
    unbonding_stake: int = 0
    unbonding_shares: int = 0
    slashed_total: int = 0
    last_slot: int = 0
    applied: EventKey | None = None

    def pools(self) -> tuple[int, int, int, int]:
        """Both pools' (stake, shares): what every position's value depends on."""
        return self.total_stake, self.total_shares, self.unbonding_stake, self.unbonding_shares

    def apply(self, key: EventKey, name: str, f: dict[str, Any], position: Callable[[str], Position]) -> None:
        """Apply one finalized, well-formed event of this node; ``position(owner)`` gives the position to change."""
        slot = key[0]
        self.applied = key
        self.last_slot = max(self.last_slot, slot)
        if name == "NodeRegistered":
            self.operator = f["operator"]
            self.commission_bps = f["commissionBps"]
        elif name == "CommissionScheduled":
            self.pending_commission_bps = f["newBps"]
            self.commission_effective_at = int(f["effectiveAt"])
        elif name == "NodeDeactivated":
            self.active = False
        elif name == "Slashed":
            self._slash(key, int(f["slashBps"]), int(f["amount"]))
        elif name in ("Staked", "UnstakeRequested", "Withdrawn"):
            p = position(f["owner"])
            p.last_slot = max(p.last_slot, slot)
            if name == "Staked":
                self.total_stake += int(f["amount"])
                self.total_shares += int(f["shares"])
                p.shares += int(f["shares"])
            elif name == "UnstakeRequested":
                self._unstake(key, f, p)
            else:
                self._withdraw(key, f, p)

    def _slash(self, key: EventKey, bps: int, amount: int) -> None:
        cut_bonded = self.total_stake * bps // BPS
        cut_unbonding = self.unbonding_stake * bps // BPS
        if cut_bonded + cut_unbonding != amount:
            # Events out of chain order within a slot; reconcile will show the node; keep the total exact.
            log.warning(
                "slash %s of node %s does not replay (%d + %d != %d)",
                key[1],
                self.node,
                cut_bonded,
                cut_unbonding,
                amount,
            )
            cut_bonded = min(self.total_stake, max(0, amount - cut_unbonding))
            cut_unbonding = amount - cut_bonded
        self.total_stake -= cut_bonded
        self.unbonding_stake -= cut_unbonding
        self.slashed_total += amount

    def _unstake(self, key: EventKey, f: dict[str, Any], p: Position) -> None:
        amount, burned = int(f["amount"]), int(f["sharesBurned"])
        self.total_stake -= amount
        self.total_shares -= burned
        p.shares -= burned
        if amount == 0:  # a position worth nothing left its bonded pool: no entry
            return
        minted = f.get("unbondingShares")
        if minted is None:  # the program before unbonding entries did not log the shares: its minting rule
            ub_stake, ub_shares = self.unbonding_stake, self.unbonding_shares
            minted = amount if ub_shares == 0 else (0 if ub_stake == 0 else amount * ub_shares // ub_stake)
        minted = int(minted)
        self.unbonding_stake += amount
        self.unbonding_shares += minted
        p.unbonding_shares += minted
        p.entries.append(Entry(key[1], key[2], key[0], amount, minted, int(f["unlockTime"])))

    def _withdraw(self, key: EventKey, f: dict[str, Any], p: Position) -> None:
        amount = int(f["amount"])
        at = f.get("withdrawnAt")
        # the program pays exactly the entries unlocked at withdrawnAt (before entries existed: all of them)
        paid = [e for e in p.entries if at is None or e.unlock_time <= int(at)]
        shares = sum(e.shares for e in paid)
        logged = f.get("unbondingShares")
        if logged is not None and int(logged) != shares or f.get("entriesPaid", len(paid)) != len(paid):
            log.warning(
                "withdraw %s of %s on node %s pays %s shares in %s entries, the projection has %d in %d",
                key[1],
                p.owner,
                self.node,
                logged,
                f.get("entriesPaid"),
                shares,
                len(paid),
            )
            shares = int(logged) if logged is not None else shares
        p.entries = [e for e in p.entries if not any(e is q for q in paid)]
        self.unbonding_stake -= amount
        self.unbonding_shares -= shares
        p.unbonding_shares -= shares
        p.withdrawn += amount

    # -- rows ----------------------------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """The ``staking_nodes`` row."""
        slot, sig, idx = self.applied if self.applied else (None, None, None)
        return {
            "node": self.node,
            "operator": self.operator,
            "commission_bps": self.commission_bps,
            "pending_commission_bps": self.pending_commission_bps,
            "commission_effective_at": self.commission_effective_at,
            "active": self.active,
            "total_stake": self.total_stake,
            "total_shares": self.total_shares,
            "unbonding_stake": self.unbonding_stake,
            "unbonding_shares": self.unbonding_shares,
            "slashed_total": self.slashed_total,
            "last_slot": self.last_slot,
            "applied_slot": slot,
            "applied_signature": sig,
            "applied_event_index": idx,
        }

    @classmethod
    def from_row(cls, r: Any) -> NodeState:
        """The state stored in a ``staking_nodes`` row."""
        applied = None
        if r.applied_slot is not None:
            applied = (int(r.applied_slot), str(r.applied_signature), int(r.applied_event_index))
        return cls(
            node=r.node,
            operator=r.operator,
            commission_bps=r.commission_bps,
            pending_commission_bps=r.pending_commission_bps,
            commission_effective_at=r.commission_effective_at,
            active=bool(r.active),
            total_stake=int(r.total_stake),
            total_shares=int(r.total_shares),
            unbonding_stake=int(r.unbonding_stake),
            unbonding_shares=int(r.unbonding_shares),
            slashed_total=int(r.slashed_total),
            last_slot=int(r.last_slot),
            applied=applied,
        )

    def bonded(self, shares: int) -> int:
        """Value of bonded shares now."""
        return share_value(shares, self.total_stake, self.total_shares)

    def unbonding(self, shares: int) -> int:
        """Value of unbonding shares now."""
        return share_value(shares, self.unbonding_stake, self.unbonding_shares)

    def position_row(self, p: Position) -> dict[str, Any]:
        """The ``stake_positions`` row of ``p``."""
        return {
            "node": self.node,
            "owner": p.owner,
            "shares": p.shares,
            "unbonding_shares": p.unbonding_shares,
            "bonded": self.bonded(p.shares),
            "unbonding": self.unbonding(p.unbonding_shares),
            "unlock_time": min((e.unlock_time for e in p.entries), default=None),
            "withdrawn": p.withdrawn,
            "last_slot": p.last_slot,
        }

    def entry_rows(self, p: Position) -> list[dict[str, Any]]:
        """The ``stake_unbonding_entries`` rows of ``p``."""
        return [
            {
                "node": self.node,
                "owner": p.owner,
                "signature": e.signature,
                "event_index": e.event_index,
                "slot": e.slot,
                "amount": e.amount,
                "shares": e.shares,
                "value": self.unbonding(e.shares),
                "unlock_time": e.unlock_time,
            }
            for e in p.entries
        ]


def replay_node(
    node: str, events: Sequence[tuple[EventKey, str, dict[str, Any]]]
) -> tuple[NodeState, list[Position]]:
    """A node's state and positions from its events (in order), starting from nothing."""
    state = NodeState(node)
    positions: dict[str, Position] = {}

    def position(owner: str) -> Position:
        return positions.setdefault(owner, Position(owner))

    for key, name, fields in events:
        state.apply(key, name, fields, position)
    return state, list(positions.values())
