"""The staking program's stake rules in Python (programs/staking/src/stake.c), for pre-checks and for the
marketplace's delegation room. Pure integer functions: no database, no chain I/O.

Each ``check_*`` returns the IDL name of the program error the instruction would hit, or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.money import BPS, U64_MAX

#: Unbonding entries a position may hold at once (the program's MAX_UNBONDING_ENTRIES).
MAX_UNBONDING_ENTRIES = 8


@dataclass(frozen=True)
class Pool:
    """A node's bonded pool and its operator's shares of it."""

    stake: int
    shares: int
    operator_shares: int


def share_value(shares: int, stake: int, total_shares: int) -> int:
    """Value of ``shares`` in a pool, rounded down; the last holder takes the whole pool."""
    if total_shares <= 0:
        return 0
    if shares == total_shares:
        return stake
    return shares * stake // total_shares


def shares_for(amount: int, stake: int, total_shares: int) -> tuple[int, str | None]:
    """(shares minted for ``amount`` entering a pool, error name or None)."""
    if total_shares == 0:
        return amount, None
    if stake == 0:
        return 0, "PoolDepleted"
    minted = amount * total_shares // stake
    return minted, ("AmountTooSmall" if minted == 0 else None)


def check_delegation(pool: Pool, gpu_units: int, min_stake_per_gpu: int, max_delegation_bps: int) -> str | None:
    """The operator rules of a bonded pool while the node is active: with delegated stake, the operator keeps at
    least ``min_stake_per_gpu * gpu_units`` and delegated stake stays within ``max_delegation_bps``."""
    op_value = share_value(pool.operator_shares, pool.stake, pool.shares)
    delegated = pool.stake - op_value
    if delegated == 0:
        return None
    if op_value < min_stake_per_gpu * gpu_units:
        return "BelowMinimumStake"
    if delegated > pool.stake * max_delegation_bps // BPS:
        return "DelegationCapExceeded"
    return None


def check_stake(
    pool: Pool, amount: int, is_operator: bool, gpu_units: int, min_stake_per_gpu: int, max_delegation_bps: int
) -> str | None:
    """The error ``stake(amount)`` would hit on this pool (balance and node status are checked apart)."""
    if amount == 0:
        return "ZeroAmount"
    minted, err = shares_for(amount, pool.stake, pool.shares)
    if err:
        return err
    if pool.stake + amount > U64_MAX or pool.shares + minted > U64_MAX:
        return "MathOverflow"
    after = Pool(pool.stake + amount, pool.shares + minted, pool.operator_shares + (minted if is_operator else 0))
    if is_operator:
        return None
    return check_delegation(after, gpu_units, min_stake_per_gpu, max_delegation_bps)


def delegation_room(
    stake: int, operator_value: int, active: bool, gpu_units: int | None, min_stake_per_gpu: int, cap_bps: int
) -> int:
    """The most a new delegation can add now without breaking the cap: 0 when the node is inactive or its
    operator holds less than the minimum.

    With D = stake - operator value, a delegation x passes when D + x <= (stake + x) * cap / 10000, i.e.
    x <= (stake * cap - 10000 * D) / (10000 - cap). Minting rounds in the pool's favour, so the operator's value
    can only grow by the time the program checks: this bound is never above the program's limit and at most a
    few base units below it. A cap of 10000 bps is no cap: the room is what the u64 total still holds.
    """
    if not active or gpu_units is None or operator_value < min_stake_per_gpu * gpu_units or operator_value <= 0:
        return 0
    if cap_bps >= BPS:
        return max(0, U64_MAX - stake)
    delegated = stake - operator_value
    return max(0, (stake * cap_bps - BPS * delegated) // (BPS - cap_bps))


def check_unstake(
    pool: Pool,
    position_shares: int,
    amount: int,
    is_operator: bool,
    active: bool,
    unbonding: tuple[int, int],
    gpu_units: int,
    min_stake_per_gpu: int,
    max_delegation_bps: int,
    entry_count: int = 0,
) -> str | None:
    """The error ``request_unstake(amount)`` would hit; ``unbonding`` is the node's (stake, shares) cooldown pool,
    ``entry_count`` the position's unbonding entries (at most 8). Amount 0 is how a position worth nothing (after
    a full slash of its pool) leaves: allowed then, ``ZeroAmount`` otherwise."""
    value = share_value(position_shares, pool.stake, pool.shares)
    if amount == 0 and (value != 0 or position_shares == 0):
        return "ZeroAmount"
    if amount > value:
        return "InsufficientStake"
    if amount == value:
        burn = position_shares
    else:
        burn = -(-amount * pool.shares // pool.stake)  # ceil: rounding favours the pool
        if burn > position_shares:
            return "InsufficientStake"
    if burn == pool.shares:
        amount = pool.stake
    after = Pool(pool.stake - amount, pool.shares - burn, pool.operator_shares - (burn if is_operator else 0))
    if is_operator and active:
        err = check_delegation(after, gpu_units, min_stake_per_gpu, max_delegation_bps)
        if err:
            return err
    if amount == 0:
        return None
    if entry_count >= MAX_UNBONDING_ENTRIES:
        return "TooManyUnbondingEntries"
    _minted, err = shares_for(amount, *unbonding)
    return err


def withdraw_amount(entries: list[tuple[int, int]], unbonding: tuple[int, int], now: int) -> tuple[int, int | None]:
    """(what ``withdraw`` pays at ``now``, the earliest unlock still ahead) for a position's unbonding entries
    (shares, unlock_time) in the node's (stake, shares) cooldown pool: the matured entries' shares valued together."""
    matured = sum(shares for shares, unlock in entries if now >= unlock)
    ahead = [unlock for _shares, unlock in entries if now < unlock]
    return share_value(matured, *unbonding), (min(ahead) if ahead else None)
