"""Rules of the staking views (commission in force, withdrawable stake, delegated share: pure), and what other
domains read of stake: a wallet's bonded stake at a past slot (:func:`stake_at_slot`, a replay of the indexed
events through the program's share-pool arithmetic) and now (:func:`bonded_now`, from the projections)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.money import BPS


def commission_at(
    current: int | None, pending: int | None, effective_at: int | None, now: int
) -> tuple[int | None, int | None]:
    """(commission in force, still-pending commission) at ``now``, as the program applies a matured change."""
    if pending is None or pending == current or effective_at is None:
        return current, None
    if now >= effective_at:
        return pending, None
    return current, pending


def share_value(shares: int, stake: int, total_shares: int) -> int:
    """Value of ``shares`` in a pool of (stake, total_shares), rounded down; the last holder takes the pool (the
    program's rule, programs/staking/src/stake.c)."""
    if total_shares <= 0:
        return 0
    if shares == total_shares:
        return stake
    return shares * stake // total_shares


def withdrawable(entries: Iterable[tuple[int, int]], unbonding_stake: int, unbonding_shares: int, now: int) -> int:
    """What ``withdraw`` pays at ``now``: the value of the shares of every entry (shares, unlock_time) unlocked by
    then, taken together out of the node's unbonding pool (unbonding_stake, unbonding_shares)."""
    matured = sum(shares for shares, unlock_time in entries if unlock_time <= now)
    return share_value(matured, unbonding_stake, unbonding_shares) if matured else 0


def delegated_share_bps(total_stake: int, operator_stake: int) -> int:
    """Share of the bonded stake not owned by the operator, in basis points, rounded down."""
    if total_stake <= 0:
        return 0
    return max(0, total_stake - operator_stake) * BPS // total_stake


@dataclass(frozen=True)
class StakeSnapshot:
    """Bonded stake at a slot: per owner (own and delegated positions, summed over nodes; unbonding excluded) and
    the whole bonded stake of every node."""

    slot: int
    total: int
    by_owner: dict[str, int]


def stake_at_slot(session: Session, slot: int) -> StakeSnapshot:
    """Bonded stake at ``slot``: every node replayed from its finalized events at or below ``slot`` with the
    projections' own arithmetic (:func:`backend.chain.stakepool.replay_node`); owners with nothing bonded are left
    out. Exact for any ``slot`` the indexer has read through (see ``backend.nodes.service.as_of_slot``)."""
    from backend.chain.stakepool import replay_node
    from backend.staking import repository as repo

    by_owner: dict[str, int] = defaultdict(int)
    total = 0
    for node, events in repo.node_events_through(session, slot).items():
        state, positions = replay_node(node, events)
        total += state.total_stake
        for p in positions:
            value = state.bonded(p.shares)
            if value > 0:
                by_owner[p.owner] += value
    return StakeSnapshot(slot, total, dict(sorted(by_owner.items())))


def bonded_now(session: Session, owners: Sequence[str]) -> dict[str, int]:
    """Each owner's bonded stake now (the finalized projections), summed over its positions."""
    from backend.staking import repository as repo

    return repo.bonded_by_owner(session, list(owners))
