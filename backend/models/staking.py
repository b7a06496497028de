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
    """Projection: a node of the staking program, from finalized events."""

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


class StakePosition(Base):
    """Projection: one owner's stake on one node: shares of the node's bonded and unbonding pools and their
    current value (``bonded``, ``unbonding`` until ``unlock_time``), and the total withdrawn."""

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
