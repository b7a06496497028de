"""The EVM indexer: the router's ``Paid`` logs and the token's ``Transfer`` logs into and out of the treasury,
read with ``eth_getLogs`` over block ranges into ``evm_payment_logs``.

Guarantees and why they hold:
- **Exactly once.** Rows are keyed by (chain_id, tx_hash, log_index) and inserted with ``ON CONFLICT DO
  NOTHING``; a range's rows, its block hashes and the cursor move are one database transaction, so a crash
  (SIGKILL included) leaves either the whole range or none of it, and the next run reads from the cursor.
- **No gap.** A range is written only if the header of its last block is the same before and after the logs
  were read and the cursor's block still has the stored hash (so logs and cursor belong to one chain), every
  log of that last block carries its hash, and every log decodes (a malformed answer is retried, never
  skipped). The cursor move is conditional on the cursor being unchanged, so two indexers of one watch
  cannot interleave ranges.
- **Reorgs.** Each range stores the hashes of its blocks that had logs and of its last block. A pass first
  checks the cursor's hash against the chain; on a mismatch it walks the stored blocks down to the newest one
  that still matches (the fork point), deletes the rows and blocks above it and moves the cursor back, in one
  transaction, then reads again. Rows counted as money (at least ``confirmations`` deep when read) are never
  rolled back silently: such a reorg raises :class:`DeepReorg` and changes nothing.
- **Confirmations** are counted from the cursor (the newest block verified), never from an unverified head:
  a row is ``seen`` once stored and money at ``cursor - block + 1 >= confirmations``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backend.errors import AppError
from backend.evm.bootfile import EvmBootFile
from backend.evm.client import EvmClient, EvmRpcError
from backend.evm.contracts import PAID_TOPIC, TRANSFER_TOPIC, address_topic
from backend.evm.decode import DecodedLog, decode_logs
from backend.models.base import SQLITE_INT_MAX
from backend.models.evm import PAID, TRANSFER_IN, EvmBlock, EvmCursor, EvmPaymentLog
from backend.money import U64_MAX

log = logging.getLogger(__name__)

LOGS: Table = EvmPaymentLog.__table__  # type: ignore[assignment]
BLOCKS: Table = EvmBlock.__table__  # type: ignore[assignment]
CURSORS: Table = EvmCursor.__table__  # type: ignore[assignment]
RANGE_RETRIES = 5


class EvmIndexError(AppError):
    """A range could not be read consistently (retried on the next pass)."""

    status_code = 503


class DeepReorg(EvmIndexError):
    """The chain dropped logs that were already counted as money: an operator must look (nothing was changed)."""


@dataclass(frozen=True)
class Watch:
    """What one indexer follows on one chain."""

    chain_id: int
    token: str
    router: str
    treasury: str
    start_block: int

    @property
    def name(self) -> str:
        """The cursor's key."""
        return f"{self.chain_id}:{self.router}:{self.treasury}"

    @classmethod
    def from_boot(cls, boot: EvmBootFile) -> Watch:
        """The watch of a bootstrapped deployment, starting at the older of the two deploy blocks."""
        return cls(
            boot.chain_id, boot.token.address, boot.router.address, boot.treasury,
            min(boot.token.deploy_block, boot.router.deploy_block),
        )


@dataclass
class PassResult:
    """What one pass did."""

    ranges: int = 0
    logs: int = 0
    rollbacks: list[int] = field(default_factory=list)  # fork points rolled back to
    last_block: int = 0
    head: int = 0


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def row_of(d: DecodedLog, chain_id: int, via_router: bool, limit: int) -> dict[str, Any]:
    """The ``evm_payment_logs`` row of a decoded log (``amount`` NULL when above the money column's range)."""
    return {
        "chain_id": chain_id, "tx_hash": d.tx_hash, "log_index": d.log_index, "block_number": d.block_number,
        "block_hash": d.block_hash, "tx_index": d.tx_index, "kind": d.kind, "contract": d.contract,
        "invoice_id": d.invoice_id, "payer": d.payer, "recipient": d.recipient,
        "amount": d.amount if d.amount <= limit else None, "amount_raw": str(d.amount), "via_router": via_router,
    }


class EvmIndexer:
    """Reads one :class:`Watch` into the database. Use :meth:`pass_once` (backfill) or :meth:`follow`."""

    def __init__(
        self, engine: Engine, client: EvmClient, watch: Watch, log_range: int = 2000, confirmations: int = 12
    ) -> None:
        self.engine = engine
        self.client = client
        self.watch = watch
        self.log_range = log_range
        self.confirmations = confirmations
        self._treasury_topic = address_topic(watch.treasury)

    # --- cursor ------------------------------------------------------------------------------------------------
    def cursor(self, conn: Connection) -> dict[str, Any]:
        """The watch's cursor row, created (before the start block) on first use."""
        w = self.watch
        conn.execute(
            _insert(conn, CURSORS)
            .values(watch=w.name, chain_id=w.chain_id, start_block=w.start_block, last_block=w.start_block - 1,
                    last_hash=None, log_count=0, reorgs=0, updated_at=int(time.time()))
            .on_conflict_do_nothing(index_elements=["watch"])
        )
        row = conn.execute(select(CURSORS).where(CURSORS.c.watch == w.name)).mappings().one()
        return dict(row)

    def _move_cursor(self, conn: Connection, cur: dict[str, Any], values: dict[str, Any]) -> None:
        """Move the cursor only if nobody else moved it since ``cur`` was read (else roll back this range)."""
        res = conn.execute(
            update(CURSORS)
            .where(CURSORS.c.watch == self.watch.name, CURSORS.c.last_block == cur["last_block"])
            .where(
                CURSORS.c.last_hash.is_(None) if cur["last_hash"] is None else CURSORS.c.last_hash == cur["last_hash"]
            )
            .values(**values, updated_at=int(time.time()), last_error=None)
        )
        if res.rowcount != 1:
            raise EvmIndexError("another indexer moved the cursor of this watch; this range is dropped")

    def record_error(self, message: str) -> None:
        """Keep the last error on the cursor (shown by ``iog evm index status``)."""
        with self.engine.begin() as conn:
            self.cursor(conn)
            conn.execute(
                update(CURSORS).where(CURSORS.c.watch == self.watch.name)
                .values(last_error=message[:2000], last_error_at=int(time.time()))
            )

    # --- one pass ------------------------------------------------------------------------------------------------
    def pass_once(self, max_ranges: int | None = None, to_block: int | None = None) -> PassResult:
        """Check for a reorg, then read ranges up to the head (or ``to_block``); returns what it did."""
        result = PassResult()
        retries = 0
        while max_ranges is None or result.ranges < max_ranges:
            with self.engine.begin() as conn:
                cur = self.cursor(conn)
            if cur["last_hash"] is not None:
                block = self.client.block(cur["last_block"])
                if block is None or block.hash != cur["last_hash"]:
                    result.rollbacks.append(self.rollback(cur))
                    continue
            head = self.client.block_number() if to_block is None else min(to_block, self.client.block_number())
            result.head, result.last_block = head, cur["last_block"]
            if cur["last_block"] >= head:
                break
            frm, to = cur["last_block"] + 1, min(head, cur["last_block"] + self.log_range)
            written = self._read_range(cur, frm, to)
            if written is None:
                retries += 1
                if retries > RANGE_RETRIES:
                    raise EvmIndexError(f"blocks {frm}..{to} kept changing while read ({RANGE_RETRIES} tries)")
                continue
            retries = 0
            result.ranges += 1
            result.logs += written
            result.last_block = to
        return result

    def _fetch(self, frm: int, to: int) -> list[dict[str, Any]]:
        w, tt = self.watch, self._treasury_topic
        return [
            *self.client.get_logs(frm, to, w.router, [PAID_TOPIC]),
            *self.client.get_logs(frm, to, w.token, [TRANSFER_TOPIC, None, tt]),
            *self.client.get_logs(frm, to, w.token, [TRANSFER_TOPIC, tt]),
        ]

    def _read_range(self, cur: dict[str, Any], frm: int, to: int) -> int | None:
        """Read and write blocks ``frm..to``; the number of new rows, or None when the chain moved (retry)."""
        end = self.client.block(to)
        raws = self._fetch(frm, to)
        end_after = self.client.block(to)
        if end is None or end_after is None or end.hash != end_after.hash:
            return None
        if cur["last_hash"] is not None:
            below = self.client.block(cur["last_block"])
            if below is None or below.hash != cur["last_hash"]:
                return None  # the next loop turn sees the reorg and rolls back
        decoded, bad = decode_logs(raws, self.watch.treasury)
        if bad:
            raise EvmIndexError(f"{bad} log(s) of blocks {frm}..{to} did not decode (see the warnings); retrying")
        hashes: dict[int, str] = {}
        for d in decoded:
            if hashes.setdefault(d.block_number, d.block_hash) != d.block_hash or not frm <= d.block_number <= to:
                return None  # logs from two forks in one answer
        if hashes.get(to, end.hash) != end.hash:
            return None
        with self.engine.begin() as conn:
            return self._write(conn, cur, decoded, hashes, to, end.hash)

    def _write(
        self, conn: Connection, cur: dict[str, Any], decoded: Sequence[DecodedLog], hashes: dict[int, str],
        to: int, to_hash: str,
    ) -> int:
        """One transaction: rows, block hashes, cursor."""
        limit = SQLITE_INT_MAX if conn.dialect.name == "sqlite" else U64_MAX
        paid_txs = {d.tx_hash for d in decoded if d.kind == PAID and d.contract == self.watch.router}
        rows = [row_of(d, self.watch.chain_id, d.kind == TRANSFER_IN and d.tx_hash in paid_txs, limit)
                for d in decoded]
        inserted = 0
        if rows:
            # RETURNING counts what was new (executemany's rowcount is not reliable on every driver).
            stmt = _insert(conn, LOGS).on_conflict_do_nothing().returning(LOGS.c.log_index)
            inserted = len(conn.execute(stmt, rows).all())
        blocks = [{"watch": self.watch.name, "number": n, "hash": h, "has_logs": True} for n, h in hashes.items()]
        if to not in hashes:
            blocks.append({"watch": self.watch.name, "number": to, "hash": to_hash, "has_logs": False})
        stmt = _insert(conn, BLOCKS)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["watch", "number"],
                                       set_={"hash": stmt.excluded.hash, "has_logs": stmt.excluded.has_logs}),
            blocks,
        )
        # Range ends without logs are only fork-point candidates: keep a window of them, well below any reorg
        # the confirmation depth allows.
        keep = to - max(4 * self.confirmations, 128)
        conn.execute(delete(BLOCKS).where(BLOCKS.c.watch == self.watch.name, BLOCKS.c.has_logs.is_(False),
                                          BLOCKS.c.number < keep))
        self._move_cursor(conn, cur, {"last_block": to, "last_hash": to_hash,
                                      "log_count": cur["log_count"] + inserted})
        return inserted

    # --- reorgs --------------------------------------------------------------------------------------------------
    def _watch_rows(self) -> Any:
        w = self.watch
        return (LOGS.c.chain_id == w.chain_id) & (
            (LOGS.c.contract == w.router) | ((LOGS.c.contract == w.token)
                                             & ((LOGS.c.recipient == w.treasury) | (LOGS.c.payer == w.treasury)))
        )

    def rollback(self, cur: dict[str, Any]) -> int:
        """Find the fork point below the cursor, delete what lies above it, move the cursor there; returns it."""
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(BLOCKS.c.number, BLOCKS.c.hash)
                .where(BLOCKS.c.watch == self.watch.name, BLOCKS.c.number < cur["last_block"])
                .order_by(BLOCKS.c.number.desc())
            ).all()
        fork, fork_hash = self.watch.start_block - 1, None
        for number, stored_hash in stored:
            block = self.client.block(number)
            if block is not None and block.hash == stored_hash:
                fork, fork_hash = number, stored_hash
                break
        counted_up_to = cur["last_block"] - self.confirmations + 1
        with self.engine.begin() as conn:
            lost = conn.execute(
                select(func.count()).select_from(LOGS)
                .where(self._watch_rows(), LOGS.c.block_number > fork, LOGS.c.block_number <= counted_up_to)
            ).scalar_one()
            if lost:
                raise DeepReorg(
                    f"the chain no longer has block {cur['last_block']} as indexed, and {lost} log(s) at "
                    f"{self.confirmations}+ confirmations above the fork point {fork} would be lost: nothing was "
                    "rolled back; check the node (a reset dev chain needs a fresh database)"
                )
            conn.execute(delete(LOGS).where(self._watch_rows(), LOGS.c.block_number > fork))
            conn.execute(delete(BLOCKS).where(BLOCKS.c.watch == self.watch.name, BLOCKS.c.number > fork))
            self._move_cursor(conn, cur, {"last_block": fork, "last_hash": fork_hash, "reorgs": cur["reorgs"] + 1})
        log.warning("EVM reorg: rolled back from block %s to the fork point %s", cur["last_block"], fork)
        return fork

    # --- follow --------------------------------------------------------------------------------------------------
    def follow(self, poll_seconds: float, stop: threading.Event | None = None) -> None:
        """Pass after pass until ``stop`` is set; errors are recorded on the cursor and retried after a pause."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.pass_once()
            except (EvmRpcError, EvmIndexError) as exc:
                log.warning("EVM indexer: %s", exc.message)
                self.record_error(f"{type(exc).__name__}: {exc.message}")
            stop.wait(poll_seconds)
