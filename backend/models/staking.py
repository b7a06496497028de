"""Projections of the staking program's state, built by the indexer from finalized events.

Nodes and positions with their share pools, posted reward roots, lifetime claims per wallet. Rebuilt from
``program_events`` at any time; never edited by hand.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import KEY, SIG


class StakingNode(Base):
    """Projection: a node of the staking program, from finalized events.

    ``applied_*`` is the key (slot, signature, event index) of the last event applied: later events are applied
    on top of the row; an event that sorts before it (one slot's events split across two batches) makes the
    node replay from its first event."""

    __tablename__ = "staking_nodes"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    operator: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pending_commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commission_effective_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    total_stake: Mapped[int] = mapped_column(Money, default=0)
    total_shares: Mapped[int] = mapped_column(Money, default=0)
    unbonding_stake: Mapped[int] = mapped_column(Money, default=0)
    unbonding_shares: Mapped[int] = mapped_column(Money, default=0)
    slashed_total: Mapped[int] = mapped_column(Money, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    applied_signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    applied_event_index: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StakePosition(Base):
    """Projection: one owner's stake on one node: shares of the node's bonded and unbonding pools and their
    current value (``bonded``; ``unbonding``: every entry, matured or not), the earliest ``unlock_time`` of its
    unbonding entries (None without entries), and the total withdrawn. The entries: ``stake_unbonding_entries``."""

    __tablename__ = "stake_positions"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    owner: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    shares: Mapped[int] = mapped_column(Money, default=0)
    unbonding_shares: Mapped[int] = mapped_column(Money, default=0)
    bonded: Mapped[int] = mapped_column(Money, default=0)
    unbonding: Mapped[int] = mapped_column(Money, default=0)
    unlock_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    withdrawn: Mapped[int] = mapped_column(Money, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)


class StakeUnbondingEntry(Base):
    """Projection: one unbonding entry of a position (one ``request_unstake`` that added an entry), until the
    withdraw that pays it. Keyed by the request's event; ``value`` is what its shares of the node's unbonding pool
    are worth now (after any slash), rounded down; ``amount`` is what was requested."""

    __tablename__ = "stake_unbonding_entries"

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    owner: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    event_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(Money, default=0)
    shares: Mapped[int] = mapped_column(Money, default=0)
    value: Mapped[int] = mapped_column(Money, default=0)
    unlock_time: Mapped[int] = mapped_column(BigInteger)


class DistributorRoot(Base):
    """Projection: a rewards merkle root posted for an epoch."""

    __tablename__ = "distributor_roots"

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amount: Mapped[int] = mapped_column(Money, default=0)
    signature: Mapped[str] = mapped_column(String(SIG))
    slot: Mapped[int] = mapped_column(BigInteger)


class RewardClaim(Base):
    """Projection: lifetime rewards claimed per wallet."""

    __tablename__ = "reward_claims"

    wallet: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    claimed_total: Mapped[int] = mapped_column(Money, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    last_slot: Mapped[int] = mapped_column(BigInteger, default=0)
