"""Pure rules of the staking views: commission in force, withdrawable stake, delegated share."""

from __future__ import annotations

from collections.abc import Iterable

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
