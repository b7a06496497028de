"""The node registry: the off-chain record that links an on-chain node to a GPU machine and its operator."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base
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
