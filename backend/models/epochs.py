"""Epoch state: the versioned reward parameter sets (the epoch runner's own tables come with it)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class RewardParamSet(Base):
    """One version of the reward parameters; never edited: a change is a new version."""

    __tablename__ = "reward_param_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[str] = mapped_column(Text)  # canonical JSON (sorted keys, no spaces)
    created_at: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(256), default="")
