"""Every projection row, in a stable order: what a replay from scratch and the incremental path must agree on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from indexer.projections import CLAIMS, ENTRIES, NODES, POSITIONS, ROOTS


def projection_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of the projection tables, sorted."""
    return {
        t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in (NODES, POSITIONS, ENTRIES, ROOTS, CLAIMS)
    }
