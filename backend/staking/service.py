"""Pure rules of the staking views: commission in force, withdrawable stake, delegated share."""

from __future__ import annotations

BPS = 10_000


def commission_at(
    current: int | None, pending: int | None, effective_at: int | None, now: int
) -> tuple[int | None, int | None]:
    """(commission in force, still-pending commission) at ``now``, as the program applies a matured change."""
    if pending is None or pending == current or effective_at is None:
        return current, None
    if now >= effective_at:
        return pending, None
    return current, pending


def withdrawable(unbonding: int, unlock_time: int | None, now: int) -> int:
    """Unbonding stake a position can withdraw at ``now`` (all of it once the cooldown is over)."""
    if unbonding <= 0 or unlock_time is None or now < unlock_time:
        return 0
    return unbonding


def delegated_share_bps(total_stake: int, operator_stake: int) -> int:
    """Share of the bonded stake not owned by the operator, in basis points, rounded down."""
    if total_stake <= 0:
        return 0
    return max(0, total_stake - operator_stake) * BPS // total_stake
