"""Declarative base and the money column type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, MetaData, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from backend.money import I64_MAX, U64_MAX

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_INT_MAX = I64_MAX  # SQLite INTEGER is signed 64-bit


class Base(DeclarativeBase):
    """Base of every ORM model."""

    metadata = MetaData(naming_convention=NAMING)


class MoneyOutOfRange(ValueError):
    """An amount the column cannot hold exactly."""


class Money(TypeDecorator[int]):
    """Integer base units: NUMERIC(20,0) on PostgreSQL (the whole u64 range), INTEGER on SQLite.

    SQLite's NUMERIC affinity would turn integers above 2**63-1 into REAL, so there it is a plain 64-bit INTEGER
    and a larger amount is refused with ``MoneyOutOfRange`` rather than stored inexactly. Reads are always ``int``.
    """

    impl = Numeric(20, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, 0))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"money must be int base units, got {type(value).__name__}")
        limit = SQLITE_INT_MAX if dialect.name == "sqlite" else U64_MAX
        if not -limit <= value <= limit:
            raise MoneyOutOfRange(f"amount {value} does not fit the {dialect.name} money column")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)
