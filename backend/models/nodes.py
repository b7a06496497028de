"""The node registry: the off-chain record that links an on-chain node to a GPU machine and its operator."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import KEY

#: Values of ``NodeRecord.status``.
DRAFT, REGISTERED, CONFLICT = "draft", "registered", "conflict"


class NodeRecord(Base):
    """A GPU machine an operator registered through the API, keyed by its device key.

    ``status``: ``draft`` (created, register_node not seen finalized yet), ``registered`` (the finalized
    NodeRegistered event has the same operator and gpu_units), ``conflict`` (it differs: ``status_reason`` says
    how). ``node`` is the Node account (PDA) the device key derives.
    """

    __tablename__ = "node_records"
    __table_args__ = (Index("ix_node_records_operator", "operator"), Index("ix_node_records_node", "node"))

    node_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    node: Mapped[str] = mapped_column(String(KEY))
    operator: Mapped[str] = mapped_column(String(KEY))
    name: Mapped[str] = mapped_column(String(64))
    gpu_model: Mapped[str] = mapped_column(String(32))
    gpu_units: Mapped[int] = mapped_column(Integer)
    vram_gb: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    commission_bps: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    gpu_model_changed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class NodeStat(Base):
    """The delegator marketplace's row of a node: chain state joined with the registry, stake pools, delegation
    room, commission, slashes, performance (from the epoch runner) and the published score.

    Rebuilt from the indexer's finalized projections and events by ``backend.nodes.tasks.refresh_node_stats``
    (idempotent: a run with nothing changed writes nothing); never edited elsewhere, never computed per request.
    ``*_key`` columns are the non-null sort keys of the listing (-1 for an unknown metric), each indexed with
    ``node`` as the tie-breaker so every sort is an index scan with keyset pagination.
    """

    __tablename__ = "node_stats"
    __table_args__ = (
        Index("ix_node_stats_score", "score", "node"),
        Index("ix_node_stats_apy", "apy_key", "node"),
        Index("ix_node_stats_commission", "commission_key", "node"),
        Index("ix_node_stats_capacity", "capacity_left", "node"),
        Index("ix_node_stats_stake", "total_stake", "node"),
        Index("ix_node_stats_uptime", "uptime_key", "node"),
        # Selective filters: the matching rows are fetched by these and sorted (a sort index would scan far).
        Index("ix_node_stats_gpu_model", "gpu_model", "region"),
        Index("ix_node_stats_region", "region"),
    )

    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    node_key: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    operator: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    # registry (null for a node registered on chain without an API record)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    gpu_model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    vram_gb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    record_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # chain
    gpu_units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)
    registered_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_stake: Mapped[int] = mapped_column(Money)
    operator_stake: Mapped[int] = mapped_column(Money)
    delegated_stake: Mapped[int] = mapped_column(Money)
    unbonding_stake: Mapped[int] = mapped_column(Money)
    min_operator_stake: Mapped[int | None] = mapped_column(Money, nullable=True)
    capacity_left: Mapped[int] = mapped_column(Money)
    commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pending_commission_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commission_effective_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    commission_key: Mapped[int] = mapped_column(Integer)
    slash_count: Mapped[int] = mapped_column(Integer)
    slashed_total: Mapped[int] = mapped_column(Money)
    last_slash_reason: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_slash_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_slash_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delegator_count: Mapped[int] = mapped_column(Integer)
    # performance (the epoch runner's; null until it has history)
    uptime_24h_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uptime_7d_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uptime_30d_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uptime_key: Mapped[int] = mapped_column(Integer)
    compute_7d_gpu_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rewards_24_epochs: Mapped[int | None] = mapped_column(Money, nullable=True)
    estimated_apy_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    apy_key: Mapped[int] = mapped_column(Integer)
    # the score (backend/nodes/score.py)
    eligible: Mapped[bool] = mapped_column(Boolean)
    ineligible_reasons: Mapped[str] = mapped_column(String(128))
    score_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    commission_component: Mapped[int] = mapped_column(Integer)
    uptime_component: Mapped[int] = mapped_column(Integer)
    age_component: Mapped[int] = mapped_column(Integer)
    compute_component: Mapped[int] = mapped_column(Integer)
    last_slot: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[int] = mapped_column(BigInteger)  # the refresh that last changed this row
