"""Off-chain inputs of rewards and billing: compute delivered (usage records from the job orchestrator)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base
from backend.models.indexer import KEY


class UsageRecord(Base):
    """GPU-seconds a node delivered to a job over a period; one row per (job, period start), never edited.

    ``node`` is the node's device key (the identity that signs heartbeats), as the orchestrator knows it.
    """

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_node_period", "node", "period_start"),)

    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    period_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_end: Mapped[int] = mapped_column(BigInteger)
    node: Mapped[str] = mapped_column(String(KEY))
    gpu_seconds: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))  # the API key id that reported it
