"""Backfill: getSignaturesForAddress paging (verified) -> batched getTransaction -> decode -> one DB
transaction per chunk, with the cursor of the address committed in that same transaction.

Order of work per address: list every signature newer than the cursor (newest first, ``before``/``until``
paging), then ingest oldest first in chunks. A crash between chunks loses nothing: the cursor covers exactly
the chunks committed, and the next run lists again from it. A page is trusted only when two reads are equal
and show every entry any read of it showed, so a page that skips, repeats, or does not parse is retried
instead of turning into a gap or a duplicate (details in ``_verified_page``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from indexer import metrics
from indexer.decode import DecodeContext, DecodedTx, decode_transaction, undecodable
from indexer.errors import RpcBadResponse, RpcGaveUp
from indexer.rpc import RpcClient
from indexer.store import (
    CONFIRMED,
    CURSORS,
    FINALIZED,
    TX,
    drop_stale_pending,
    get_cursor,
    mark_synced,
    write_batch,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (address, done, total)


@dataclass
class IndexerOptions:
    """Tuning knobs."""

    page_limit: int = 1000
    batch_size: int = 100
    chunk_size: int = 1000
    page_attempts: int = 12
    null_tx_attempts: int = 8


class Indexer:
    """Indexes a set of addresses into one database."""

    def __init__(
        self,
        engine: Engine,
        rpc: RpcClient,
        ctx: DecodeContext,
        addresses: Sequence[str],
        options: IndexerOptions | None = None,
    ) -> None:
        self.engine = engine
        self.rpc = rpc
        self.ctx = ctx
        self.addresses = list(dict.fromkeys(addresses))
        self.opt = options or IndexerOptions()
        # Transactions written since start, per status: the progress line of `iog indexer run` reads it.
        self.written: dict[str, int] = {FINALIZED: 0, CONFIRMED: 0}

    # --- signature listing ------------------------------------------------------------------------------

    async def _verified_page(
        self, address: str, before: str, cursor: tuple[str, int] | None, commitment: str
    ) -> tuple[list[dict[str, Any]], bool] | None:
        """Entries older than ``before`` down to (not including) the cursor: (entries, reached_end), or None
        when ``before`` turned out not to be newer than the cursor (a stale anchor: nothing new below it).

        The RPC ``until`` is not used: pages run past the cursor so that every read is checkable. Every read
        gets a verdict: it holds the cursor (the page ends there), or it is full and stays at or above the
        cursor's slot (more pages follow), or it neither shows the cursor nor could still reach it (short, or
        below the cursor's slot): then ``before`` is not newer than the cursor. No verdict is taken from one
        read: a page is taken only when two reads are equal and show every entry any read of it showed (three
        for the last page of an address's whole history, the one place a short read cannot be told from a
        skipping one); repeated entries fail the shape check. History below ``before`` is immutable, so clean
        reads agree, whatever they show; a read that skipped an entry differs from the union and never wins.
        """
        limit = self.opt.page_limit

        def read() -> Any:
            return self.rpc.signatures_page(address, before=before, until=None, limit=limit, commitment=commitment)

        def judge(page: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool] | None:
            if cursor is not None:
                for i, e in enumerate(page):
                    if e["signature"] == cursor[0]:
                        return page[:i], True
                if len(page) == limit and page[-1]["slot"] >= cursor[1]:
                    return page, False
                # Short without the cursor, or below its slot without showing it: when reads agree on it (a
                # read that skipped the cursor differs from one that shows it), ``before`` is older.
                return None
            return page, len(page) < limit

        union: set[str] = set()
        seen: dict[tuple[str, ...], int] = {}
        pending = [asyncio.ensure_future(read()), asyncio.ensure_future(read())]
        reads: list[int] = []
        try:
            for _ in range(self.opt.page_attempts):
                page = await pending.pop(0)
                if not pending:
                    pending.append(asyncio.ensure_future(read()))
                sigs = tuple(e["signature"] for e in page)
                reads.append(len(sigs))
                union.update(sigs)
                seen[sigs] = seen.get(sigs, 0) + 1
                need = 3 if cursor is None and len(page) < limit else 2
                if seen[sigs] >= need and len(sigs) == len(union):  # no repeats: equal length = equal set
                    return judge(page)
        finally:
            for task in pending:
                task.cancel()
        raise RpcGaveUp(
            f"getSignaturesForAddress {address} before {before}: reads never agreed "
            f"(read lengths {reads}, {len(seen)} distinct, union {len(union)})"
        )

    @staticmethod
    def _newest_head(reads: Sequence[list[dict[str, Any]]]) -> dict[str, Any] | None:
        """The newest first entry of several head reads (newest first each); None when all are empty.

        Slots order entries across slots; inside one slot only a read's own order tells which is newer, so a
        head that another read lists below a head of the same slot is not the newest (a read that skipped the
        newest entry must not make its second entry the anchor).
        """
        heads = [r[0] for r in reads if r]
        if not heads:
            return None
        top = max(e["slot"] for e in heads)
        candidates = [e for e in heads if e["slot"] == top]
        older = {r[i]["signature"] for r in reads for i in range(1, len(r))}
        for e in candidates:
            if e["signature"] not in older:
                return e
        return candidates[0]

    async def list_new(self, address: str, cursor: tuple[str, int] | None, commitment: str) -> list[dict[str, Any]]:
        """Every signature of ``address`` newer than ``cursor`` (signature, slot), oldest first, no repeats.

        The newest entry seen anchors the listing (an entry newer than the anchor that a faulty read hid is
        only deferred to the next pass: it stays newer than the cursor); everything older than the anchor
        down to the cursor is read in verified pages. An anchor of the cursor's slot may still be older than
        the cursor (the reads hid the cursor and what is newer): the verified pages then agree that they never
        reach the cursor, and the listing is empty (deferred to the next pass), never an error or a replay.
        """
        reads = await asyncio.gather(
            *(
                self.rpc.signatures_page(address, before=None, until=None, limit=2, commitment=commitment)
                for _ in range(2)
            )
        )
        anchor = self._newest_head(reads)
        if anchor is None:
            return []
        if cursor is not None and (anchor["signature"] == cursor[0] or anchor["slot"] < cursor[1]):
            return []  # nothing newer (or a lagging read: the next pass looks again)
        out: list[dict[str, Any]] = [anchor]
        seen: set[str] = {anchor["signature"]}
        before = anchor["signature"]
        while True:
            verdict = await self._verified_page(address, before, cursor, commitment)
            if verdict is None:
                log.info("%s: anchor %s is not newer than the cursor; deferred to the next pass", address, anchor)
                return []
            page, end = verdict
            for e in page:
                if e["signature"] not in seen:
                    seen.add(e["signature"])
                    out.append(e)
            if end or not page:
                break
            before = page[-1]["signature"]
        out.reverse()
        return out

    # --- transactions -----------------------------------------------------------------------------------

    async def fetch(self, signatures: list[str], commitment: str) -> dict[str, dict[str, Any]]:
        """getTransaction for every signature (batched, concurrent); null is retried, then an error."""
        out: dict[str, dict[str, Any]] = {}
        todo = list(signatures)
        for attempt in range(self.opt.null_tx_attempts):
            bs = self.opt.batch_size
            chunks = [todo[i : i + bs] for i in range(0, len(todo), bs)]
            results = await asyncio.gather(*(self.rpc.get_transactions(c, commitment) for c in chunks))
            missing: list[str] = []
            for chunk, res in zip(chunks, results, strict=True):
                for sig, tx in zip(chunk, res, strict=True):
                    if tx is None:
                        missing.append(sig)
                    else:
                        out[sig] = tx
            if not missing:
                return out
            todo = missing
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        raise RpcBadResponse(f"getTransaction returned null for {len(todo)} listed signatures, e.g. {todo[0]}")

    def _known_finalized(self, signatures: list[str]) -> set[str]:
        known: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(signatures), 500):
                part = signatures[i : i + 500]
                rows = conn.execute(select(TX.c.signature).where(TX.c.signature.in_(part), TX.c.status == FINALIZED))
                known.update(r[0] for r in rows)
        return known

    def decode_all(self, txs: dict[str, dict[str, Any]], status: str) -> list[DecodedTx]:
        """Decode fetched transactions. One that cannot be decoded is kept as an ``undecodable`` row with its raw
        response, never skipped: the cursor moves past it in the same batch, so skipping would lose it."""
        out = []
        for sig, tx in txs.items():
            d = decode_transaction(sig, tx, self.ctx, status)
            if d is None:
                log.error("transaction %s kept undecoded (decode_error set, raw response stored)", sig)
                metrics.UNDECODABLE.inc()
                d = undecodable(sig, tx, status)
            out.append(d)
        return out

    def _write(self, decoded: list[DecodedTx], cursor: dict[str, tuple[str, int]] | None) -> int:
        from indexer.projections import apply_events

        with self.engine.begin() as conn:
            n = write_batch(conn, decoded, cursor)
            apply_events(conn, [e for d in decoded for e in d.events if e["status"] == FINALIZED])
        return n

    # --- backfill ---------------------------------------------------------------------------------------

    async def backfill_address(
        self, address: str, commitment: str = FINALIZED, progress: Progress | None = None
    ) -> int:
        """Ingest everything of ``address`` newer than its cursor; returns transactions written."""
        with self.engine.connect() as conn:
            sig, slot = get_cursor(conn, address)
        entries = await self.list_new(address, (sig, slot) if sig else None, commitment)
        total = len(entries)
        if progress:
            progress(address, 0, total)
        done = 0
        cs = self.opt.chunk_size
        chunks = [entries[i : i + cs] for i in range(0, total, cs)]

        async def load(chunk: list[dict[str, Any]]) -> list[DecodedTx]:
            sigs = [e["signature"] for e in chunk]
            known = await asyncio.to_thread(self._known_finalized, sigs)
            txs = await self.fetch([s for s in sigs if s not in known], commitment)
            return self.decode_all(txs, FINALIZED if commitment == FINALIZED else CONFIRMED)

        nxt = asyncio.ensure_future(load(chunks[0])) if chunks else None
        for i, chunk in enumerate(chunks):
            assert nxt is not None
            decoded = await nxt
            nxt = asyncio.ensure_future(load(chunks[i + 1])) if i + 1 < len(chunks) else None
            head = chunk[-1]
            cursor = {address: (head["signature"], head["slot"])} if commitment == FINALIZED else None
            try:
                await asyncio.to_thread(self._write, decoded, cursor)
            except BaseException:
                if nxt is not None:
                    nxt.cancel()
                raise
            done += len(chunk)
            metrics.INGESTED.labels(address, commitment).inc(len(decoded))
            self.written[FINALIZED if commitment == FINALIZED else CONFIRMED] += len(decoded)
            if progress:
                progress(address, done, total)
        return done

    async def backfill_all(self, progress: Progress | None = None) -> dict[str, int]:
        """One finalized pass over every address, then drop pending rows that never finalized."""
        from indexer.projections import apply_events

        with self.engine.begin() as conn:  # events stored but not projected yet (after a migration reset them)
            apply_events(conn)
        finalized_slot = await self.rpc.get_slot(FINALIZED)
        result = {}
        with self.engine.connect() as conn:
            synced = dict(conn.execute(select(CURSORS.c.address, CURSORS.c.synced_slot)).all())
        for address in self.addresses:
            # Lag: finalized slots not yet covered when this pass started.
            metrics.LAG.labels(address).set(max(0, finalized_slot - int(synced.get(address) or 0)))
            result[address] = await self.backfill_address(address, FINALIZED, progress)
            with self.engine.begin() as conn:
                mark_synced(conn, address, finalized_slot)
        with self.engine.begin() as conn:
            dropped = drop_stale_pending(conn, finalized_slot)
        if dropped:
            log.info("dropped %d pending transactions that never finalized", dropped)
        return result

    async def ingest_pending(self, signatures: list[str]) -> int:
        """Write transactions seen at ``confirmed`` as pending rows (no cursor, no projection)."""
        txs = await self.fetch(signatures, CONFIRMED)
        decoded = self.decode_all(txs, CONFIRMED)
        await asyncio.to_thread(self._write, decoded, None)
        self.written[CONFIRMED] += len(decoded)
        return len(decoded)
