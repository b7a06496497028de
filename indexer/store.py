"""The writer: idempotent bulk upserts of decoded rows, cursors committed in the same transaction, locks.

Re-writing a row is harmless: transactions, transfers and events are keyed by their natural keys and a
``confirmed`` row is only ever upgraded to ``finalized`` (never downgraded). A cursor only moves forward.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from backend.locks import database_lock
from backend.models.base import SQLITE_INT_MAX, Money, MoneyOutOfRange
from backend.models.indexer import (
    CONFIRMED,
    FINALIZED,
    IndexedTransaction,
    IndexerCursor,
    ProgramEvent,
    TokenTransfer,
    TransferReference,
)
from backend.money import U64_MAX
from indexer.decode import DecodedTx
from indexer.errors import LockHeld

TX: Table = IndexedTransaction.__table__  # type: ignore[assignment]
TRANSFERS: Table = TokenTransfer.__table__  # type: ignore[assignment]
REFS: Table = TransferReference.__table__  # type: ignore[assignment]
EVENTS: Table = ProgramEvent.__table__  # type: ignore[assignment]
CURSORS: Table = IndexerCursor.__table__  # type: ignore[assignment]


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _on_conflict(table: Table, cols: list[str], keys: Sequence[str], upgrade: bool) -> str:
    """``ON CONFLICT`` clause: upgrade a pending (confirmed) row, never touch a finalized one; or do nothing."""
    sql = f"ON CONFLICT ({', '.join(keys)}) "
    if not upgrade:
        return sql + "DO NOTHING"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in keys)
    return sql + f"DO UPDATE SET {sets} WHERE \"{table.name}\".status <> '{FINALIZED}'"


def _pg_bulk(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str], upgrade: bool) -> None:
    """One ``INSERT ... SELECT FROM json_populate_recordset(...) ON CONFLICT`` per table: one round trip
    and one parameter for any row count (integers travel as exact JSON numbers, never floats)."""
    _check_money(table, rows, U64_MAX)
    cols = list(rows[0])
    collist = ", ".join(cols)
    head = (
        f'INSERT INTO "{table.name}" ({collist}) SELECT {collist} '
        f'FROM json_populate_recordset(NULL::"{table.name}", %(rows)s::json) '
    )
    try:
        payload = orjson.dumps(rows).decode()
    except TypeError:  # an integer beyond 64 bits: the stdlib encoder writes it exactly too
        payload = json.dumps(rows)
    conn.exec_driver_sql(head + _on_conflict(table, cols, keys, upgrade), {"rows": payload})


def _sqlite_bulk(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str], upgrade: bool
) -> None:
    """One ``executemany`` of a plain ``INSERT ... ON CONFLICT`` on the driver (no per-row ORM work)."""
    _check_money(table, rows, SQLITE_INT_MAX)
    cols = list(rows[0])
    head = f'INSERT INTO "{table.name}" ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)}) '
    conn.exec_driver_sql(head + _on_conflict(table, cols, keys, upgrade), [tuple(r[c] for c in cols) for r in rows])


def _bulk(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str], upgrade: bool = True
) -> None:
    """Insert rows keyed by ``keys`` in one statement (see :func:`_on_conflict` for what a conflict does)."""
    if not rows:
        return
    (_pg_bulk if conn.dialect.name == "postgresql" else _sqlite_bulk)(conn, table, rows, keys, upgrade)


def _check_money(table: Table, rows: list[dict[str, Any]], limit: int) -> None:
    for c in rows[0]:
        if isinstance(table.c[c].type, Money):
            for r in rows:
                v = r[c]
                if v is None:
                    continue
                if isinstance(v, bool) or not isinstance(v, int) or not -limit <= v <= limit:
                    raise MoneyOutOfRange(f"amount {v!r} does not fit the money column")


def write_batch(
    conn: Connection,
    decoded: Iterable[DecodedTx],
    cursors: dict[str, tuple[str, int]] | None = None,
) -> int:
    """Write decoded rows and advance ``cursors`` {address: (signature, slot)}; the caller owns the txn."""
    txs: list[dict[str, Any]] = []
    transfers: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for d in decoded:
        txs.append({"decode_error": None, "raw": None, **d.tx})  # set only on rows kept undecoded
        transfers.extend(d.transfers)
        refs.extend(d.references)
        events.extend(d.events)
    _bulk(conn, TX, txs, ["signature"])
    if conn.dialect.name == "sqlite" and any(t["amount"] > SQLITE_INT_MAX for t in transfers):
        transfers = [dict(t, amount=None) if t["amount"] > SQLITE_INT_MAX else t for t in transfers]
    _bulk(conn, TRANSFERS, transfers, ["signature", "ix_path"])
    _bulk(conn, EVENTS, events, ["signature", "ix_path", "event_index"])
    _bulk(conn, REFS, refs, ["reference", "signature", "ix_path"], upgrade=False)
    for address, (sig, slot) in (cursors or {}).items():
        advance_cursor(conn, address, sig, slot)
    return len(txs)


def _upsert_cursor(conn: Connection, address: str, update: dict[str, Any], where: Any = None) -> None:
    """Create the cursor row of ``address`` holding ``update`` (defaults elsewhere), or apply ``update`` to it
    (only where ``where`` holds)."""
    now = int(time.time())
    row = {"last_signature": None, "last_slot": 0, "tx_count": 0, "synced_slot": 0, "updated_at": now, **update}
    stmt = _insert(conn, CURSORS).values(address=address, **row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["address"], set_=update, where=where))


def advance_cursor(conn: Connection, address: str, signature: str, slot: int) -> None:
    """Move the cursor of ``address`` to (signature, slot) unless it already stands at a newer slot."""
    update = {"last_signature": signature, "last_slot": slot, "updated_at": int(time.time()), "last_error": None}
    _upsert_cursor(conn, address, update, CURSORS.c.last_slot <= slot)


def mark_synced(conn: Connection, address: str, finalized_slot: int) -> None:
    """Record that a pass covered ``address`` up to ``finalized_slot`` (only ever moves forward)."""
    update = {"synced_slot": finalized_slot, "updated_at": int(time.time()), "last_error": None}
    _upsert_cursor(conn, address, update, CURSORS.c.synced_slot <= finalized_slot)


def get_cursor(conn: Connection, address: str) -> tuple[str | None, int]:
    """(last_signature, last_slot) of an address; (None, 0) before its first batch."""
    row = conn.execute(
        select(CURSORS.c.last_signature, CURSORS.c.last_slot).where(CURSORS.c.address == address)
    ).first()
    return (row[0], int(row[1])) if row else (None, 0)


def record_error(engine: Engine, address: str, message: str) -> None:
    """Remember the last error of an address (own transaction; never moves the cursor)."""
    with engine.begin() as conn:
        _upsert_cursor(conn, address, {"last_error": message[:2000], "last_error_at": int(time.time())})


def drop_stale_pending(conn: Connection, finalized_slot: int) -> int:
    """Delete pending rows at or below a slot every watched address has been finalized through."""
    stale = select(TX.c.signature).where(TX.c.status == CONFIRMED, TX.c.slot <= finalized_slot)
    conn.execute(delete(REFS).where(REFS.c.signature.in_(stale)))
    for table in (TRANSFERS, EVENTS):
        conn.execute(delete(table).where(table.c.status == CONFIRMED, table.c.slot <= finalized_slot))
    return conn.execute(delete(TX).where(TX.c.status == CONFIRMED, TX.c.slot <= finalized_slot)).rowcount or 0


def counts(conn: Connection) -> dict[str, int]:
    """Row counts of the indexer's fact tables."""
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in (TX, TRANSFERS, REFS, EVENTS)
    }


class AddressSetLock:
    """Exclusive right to index one address set: a :mod:`backend.locks` database lock named by the set (an
    advisory lock on PostgreSQL, an ``flock`` beside the SQLite file; both released when the process dies, even
    by SIGKILL). A second indexer on the same set fails fast with :class:`LockHeld`.
    """

    def __init__(self, engine: Engine, addresses: Iterable[str]) -> None:
        digest = hashlib.sha256(",".join(sorted(addresses)).encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.tag = digest[:6].hex()
        self._lock = database_lock(engine, f"indexer-{self.tag}", self.key)

    def acquire(self) -> None:
        """Take the lock or raise LockHeld."""
        if not self._lock.acquire():
            key = getattr(self._lock, "key", None) or self.key  # PostgreSQL: the key scoped to this schema
            raise LockHeld(f"another indexer holds the lock of this address set (advisory key {key})")

    def release(self) -> None:
        """Give the lock back."""
        self._lock.release()

    def __enter__(self) -> AddressSetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
