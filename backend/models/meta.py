"""Deployment facts as key/value pairs."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class AppMeta(Base):
    """One fact about this deployment, e.g. the genesis hash of the cluster it indexes."""

    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
