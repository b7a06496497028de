"""Where the marketplace's performance figures come from: the epoch runner's record of each node.

Uptime (24 h / 7 d / 30 d), compute delivered over 7 days and rewards over the last 24 epochs are the epoch
runner's (``backend.epochs.service.node_performance``); the estimated APY is computed from the node's actual
payouts of the last 7 days (:func:`estimated_apy_bps`). Before the first epoch is computed every figure is null
(no history), and the score ranks a missing figure 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.money import BPS


@dataclass(frozen=True)
class Performance:
    """A node's figures (None: no history)."""

    uptime_24h_bps: int | None = None
    uptime_7d_bps: int | None = None
    uptime_30d_bps: int | None = None
    compute_7d_gpu_seconds: int | None = None
    rewards_24_epochs: int | None = None  # IO base units paid to the node (operator and delegators)
    payouts_7d: int | None = None  # the node's rewards in epochs that ended in the last 7 days: the APY basis


def node_performance(
    session: Session, node_keys: Sequence[str], now: int, settings: Settings | None = None
) -> dict[str, Performance]:
    """Performance per node key (the device key heartbeats and usage records name); a node without any computed
    epoch has no data. ``settings`` give the epoch schedule (default: the process settings)."""
    from backend.epochs import service as epochs
    from backend.epochs.clock import GenesisUnknown, epoch_clock

    try:
        clock = epoch_clock(settings) if settings is not None else None
        figures = epochs.node_performance(session, list(node_keys), now, clock)
    except GenesisUnknown:  # no epoch schedule on this deployment (yet): no history
        return {}
    out = {}
    for key, p in figures.items():
        if not p.rewards:  # no epoch computed yet: no history, not zeros
            continue
        out[key] = Performance(
            uptime_24h_bps=p.uptime_bps_24h,
            uptime_7d_bps=p.uptime_bps_7d,
            uptime_30d_bps=p.uptime_bps_30d,
            compute_7d_gpu_seconds=p.compute_gpu_seconds_7d,
            rewards_24_epochs=sum(reward for _epoch, reward in p.rewards),
            payouts_7d=p.payouts_7d,
        )
    return out


def estimated_apy_bps(payouts_7d: int | None, total_stake: int, commission_bps: int | None) -> int | None:
    """A delegator's yield after commission, annualized from the node's actual payouts of the last 7 days, in
    basis points, rounded down: ``payouts_7d * (1 - commission) / total_stake * 365 / 7``. None without history
    or stake. An estimate from the past, never a promise."""
    if payouts_7d is None or total_stake <= 0 or commission_bps is None:
        return None
    return payouts_7d * (BPS - commission_bps) * 365 // (7 * total_stake)
