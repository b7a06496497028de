"""The epoch runner: each epoch goes ``open -> closing -> computed -> posted -> finalized``, one persisted step
at a time, so a crash at any point resumes where it stopped.

1. ``closing``: the input document is built from the database and stored (exact bytes, keyed by epoch and
   ``inputs_sha256``) in one transaction. A crash before it commits leaves the epoch ``open``; after, the
   stored input is what the epoch is computed from (never rebuilt).
2. ``computed``: the engine runs on the stored input; the output bytes and per-node rows are stored.
3. ``posted``: the newest computed epoch is posted (missed epochs are all closed and stored, only the newest is
   posted: totals are lifetime totals). The signed transaction is recorded (signature, bytes, last valid block
   height) and committed before it is sent. A recorded post is looked up first: on chain -> posted; executed
   with an error, or not on chain once its blockhash expired -> dropped and built anew (after reading the
   Distributor again); not on chain and still valid -> the same bytes are sent again (same signature, so it
   lands at most once). Older computed epochs become ``superseded`` by the post (their community share went
   with it).
4. ``finalized``: the indexer has the finalized RewardsRootPosted event with the same root.

The first epoch a deployment closes is the one holding the time of the runner's first tick.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import tx
from backend.config import Settings
from backend.db import snapshot_reads
from backend.epochs import sources
from backend.epochs.chain import EpochChain
from backend.epochs.clock import EpochClock
from backend.epochs.inputs import BuiltInput, build_input
from backend.models.epochs import (
    CLOSING,
    COMPUTED,
    FINALIZED,
    OPEN,
    POSTED,
    SUPERSEDED,
    Epoch,
    EpochDocument,
    EpochNode,
)
from backend.rewards.engine import EpochResult, compute_epoch, gc_paused, inputs_sha256, json_bytes

log = logging.getLogger("iog.epochs")


@dataclass
class TickReport:
    """What one pass did."""

    closed: list[int] = field(default_factory=list)
    posted: int | None = None
    finalized: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class EpochRunner:
    """Closes due epochs, posts the newest, marks finalized ones; every step idempotent."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        clock: EpochClock,
        chain: EpochChain | None,
        decimals: int,
        program_id: str | None,
        confirm_timeout: float = 30.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.clock = clock
        self.chain = chain
        self.decimals = decimals
        self.program_id = program_id
        self.confirm_timeout = confirm_timeout
        self._doc: tuple[int, str, dict[str, Any]] | None = None  # the input just stored, to skip a re-parse

    # -- the pass -------------------------------------------------------------------------------------
    def tick(self, now: int) -> TickReport:
        """One pass: open the current epoch, close every frozen one in order, post, finalize."""
        report = TickReport()
        self.open_current(now)
        for epoch in self.due(now):
            self.close(epoch, now, report.timings)
            report.closed.append(epoch)
        if self.chain is not None:
            report.posted = self.post(now)
        report.finalized = self.finalize(now)
        return report

    def open_current(self, now: int) -> None:
        """Record the epoch holding ``now`` as open (the first one ever recorded is where closing starts)."""
        epoch = self.clock.epoch_at(now)
        if epoch < 0:
            return
        with self.factory.begin() as s:
            if s.get(Epoch, epoch) is None:
                s.add(self._row(epoch, now))

    def _row(self, epoch: int, now: int) -> Epoch:
        return Epoch(
            epoch=epoch, state=OPEN, start_time=self.clock.start(epoch), end_time=self.clock.end(epoch),
            post_attempts=0, updated_at=now,
        )  # fmt: skip

    def due(self, now: int) -> list[int]:
        """Frozen epochs from the first recorded one that are not computed yet, oldest first."""
        last = self.clock.last_closable(now)
        with self.factory() as s:
            first = s.scalar(select(func.min(Epoch.epoch)))
            if first is None or last < first:
                return []
            done = set(
                s.scalars(
                    select(Epoch.epoch).where(
                        Epoch.epoch >= first, Epoch.epoch <= last, Epoch.state.not_in((OPEN, CLOSING))
                    )
                )
            )
        return [n for n in range(first, last + 1) if n not in done]

    # -- closing ------------------------------------------------------------------------------------------
    def close(self, epoch: int, now: int, timings: dict[str, float] | None = None) -> None:
        """Steps 1 and 2 for one epoch (each skipped when already done)."""
        timings = timings if timings is not None else {}
        with self.factory.begin() as s:
            row = s.get(Epoch, epoch)
            if row is None:
                row = self._row(epoch, now)
                s.add(row)
            needs_input = row.state == OPEN
        if needs_input:
            # The input is read from one snapshot of the indexed state (nodes, positions and events of one moment
            # of the indexer's writes), then stored in a transaction of its own.
            t0 = time.perf_counter()
            with self.factory() as s:
                snapshot_reads(s)
                built = build_input(
                    s, self.settings, self.clock, epoch, self.decimals, self.program_id,
                    self._previous_output(s, epoch),
                )  # fmt: skip
                s.rollback()
            timings["build_input"] = timings.get("build_input", 0.0) + time.perf_counter() - t0
            with self.factory.begin() as s:
                row = s.get(Epoch, epoch)
                if row is not None and row.state == OPEN:
                    self._store_input(s, row, built, now, timings)
        with self.factory.begin() as s:
            row = s.get(Epoch, epoch)
            if row is not None and row.state == CLOSING:
                self._compute(s, row, now, timings)

    def _previous_output(self, s: Session, epoch: int) -> bytes | None:
        prev = s.get(Epoch, epoch - 1)
        if prev is None:
            return None  # the first epoch this deployment closes
        if prev.state in (OPEN, CLOSING):
            raise RuntimeError(f"epoch {epoch - 1} is not computed: epochs close in order")
        doc = s.get(EpochDocument, (epoch - 1, prev.inputs_sha256))
        return doc.output if doc is not None else None

    def _store_input(self, s: Session, row: Epoch, built: BuiltInput, now: int, timings: dict[str, float]) -> None:
        t1 = time.perf_counter()
        with gc_paused():
            data = json_bytes(built.doc)
            digest = inputs_sha256(built.doc, validated=True)
        s.add(EpochDocument(epoch=row.epoch, inputs_sha256=digest, input=data, created_at=now))
        row.state, row.inputs_sha256, row.params_version = CLOSING, digest, built.params_version
        row.as_of_slot, row.closing_at, row.updated_at = built.as_of_slot, now, now
        self._doc = (row.epoch, digest, built.doc)
        timings["store_input"] = timings.get("store_input", 0.0) + time.perf_counter() - t1
        log.info("epoch %d closing: input %s (%d nodes, %d bytes)", row.epoch, digest, len(built.doc["nodes"]),
                 len(data))  # fmt: skip

    def _compute(self, s: Session, row: Epoch, now: int, timings: dict[str, float]) -> None:
        t0 = time.perf_counter()
        if self._doc is not None and self._doc[:2] == (row.epoch, row.inputs_sha256):
            raw = self._doc[2]
        else:
            stored = s.get(EpochDocument, (row.epoch, row.inputs_sha256))
            if stored is None:
                raise RuntimeError(f"epoch {row.epoch}: stored input {row.inputs_sha256} is missing")
            raw = orjson.loads(stored.input)
        self._doc = None
        with gc_paused():
            result = compute_epoch(raw)
            if result.inputs_sha256 != row.inputs_sha256:
                raise RuntimeError(f"epoch {row.epoch}: recomputed inputs_sha256 differs from the stored one")
            output = json_bytes(result.to_json())
        t1 = time.perf_counter()
        doc = s.get(EpochDocument, (row.epoch, row.inputs_sha256))
        assert doc is not None
        doc.output = output
        self._store_nodes(s, row.epoch, raw, result)
        row.state, row.merkle_root = COMPUTED, result.merkle_root.hex()
        pool = result.pool
        row.emission, row.community, row.unallocated = pool.emission, pool.community, pool.unallocated
        row.payouts_total, row.cumulative_total = sum(result.payout_amounts), sum(result.cumulative)
        row.nodes, row.eligible_nodes = len(result.nodes), sum(1 for n in result.nodes if n.eligible)
        row.computed_at, row.updated_at = now, now
        s.flush()
        timings["engine"] = timings.get("engine", 0.0) + t1 - t0
        timings["store_output"] = timings.get("store_output", 0.0) + time.perf_counter() - t1
        log.info("epoch %d computed: root %s, payouts %d, %d/%d nodes eligible", row.epoch, row.merkle_root,
                 row.payouts_total, row.eligible_nodes, row.nodes)  # fmt: skip

    def _store_nodes(self, s: Session, epoch: int, raw: dict[str, Any], result: EpochResult) -> None:
        keys = {node: key for node, (key, _model) in sources.gpu_models(s).items()}
        rows = []
        for n, r in zip(raw["nodes"], result.nodes, strict=True):
            rows.append(
                {
                    "epoch": epoch, "node": n["node"], "node_key": keys.get(n["node"]), "operator": n["operator"],
                    "gpu_model": n["gpu_model"][:32], "gpu_units": n["gpu_units"],
                    "uptime_seconds": n["uptime_seconds"], "continuous_uptime_seconds": n["continuous_uptime_seconds"],
                    "verified": n["verified"], "slashed": n["slashed"], "compute_gpu_seconds": n["compute_gpu_seconds"],
                    "total_stake": sum(int(e["amount"]) for e in n["stake"]), "eligible": r.eligible,
                    "reasons": ",".join(r.reasons), "reward": r.reward, "availability_reward": r.availability_reward,
                    "compute_reward": r.compute_reward, "operator_commission": r.operator_commission,
                }
            )  # fmt: skip
        if rows:
            s.execute(insert(EpochNode), rows)

    # -- posting --------------------------------------------------------------------------------------------
    def post(self, now: int) -> int | None:
        """Step 3 for the newest computed epoch; returns the epoch posted in this pass, if any."""
        chain = self.chain
        assert chain is not None
        with self.factory() as s:
            inflight = s.scalars(
                select(Epoch).where(Epoch.state == COMPUTED, Epoch.post_signature.is_not(None)).order_by(Epoch.epoch)
            ).all()
        for row in inflight:
            outcome = self._resolve(row, now)
            if outcome == "posted":
                return row.epoch
            if outcome == "pending":
                return None
        with self.factory() as s:
            newest = s.scalars(select(Epoch).where(Epoch.state == COMPUTED).order_by(Epoch.epoch.desc())).first()
            if newest is None:
                return None
            community = sum(
                c or 0
                for c in s.scalars(
                    select(Epoch.community).where(Epoch.state == COMPUTED, Epoch.epoch <= newest.epoch)
                )
            )
        dist = chain.distributor()
        if dist.roots_posted > 0 and dist.latest_epoch >= newest.epoch:
            if dist.latest_epoch == newest.epoch and dist.latest_root.hex() == newest.merkle_root:
                self._mark_posted(newest.epoch, None, now, "found on chain without a recorded post")
                return newest.epoch
            self._error(newest.epoch, now, f"the Distributor is at epoch {dist.latest_epoch} (root "
                        f"{dist.latest_root.hex()}), not behind epoch {newest.epoch}: not posting")  # fmt: skip
            return None
        funding = (newest.cumulative_total or 0) - dist.cumulative_total
        if funding < 0:
            self._error(newest.epoch, now, f"cumulative total {newest.cumulative_total} is below the Distributor's "
                        f"{dist.cumulative_total}: not posting")  # fmt: skip
            return None
        txn, last_valid = chain.build_post(
            newest.epoch, bytes.fromhex(newest.merkle_root or ""), newest.cumulative_total or 0, funding, community
        )
        signature = str(txn.signatures[0])
        with self.factory.begin() as s:  # recorded before it is sent
            rec = s.get(Epoch, newest.epoch)
            assert rec is not None
            rec.post_signature, rec.post_tx, rec.post_last_valid_block_height = signature, bytes(txn), last_valid
            rec.post_funding, rec.post_community = funding, community
            rec.community_account = str(chain.community)
            rec.post_attempts += 1
            rec.updated_at = now
        log.info("epoch %d: posting root %s (funding %d, community %d) in %s", newest.epoch, newest.merkle_root,
                 funding, community, signature)  # fmt: skip
        try:
            chain.send(txn)
        except tx.TransactionFailed as exc:  # refused at preflight: it was never forwarded
            self._drop_post(newest.epoch, now, f"post refused: {exc.message}")
            return None
        return newest.epoch if self._await(newest.epoch, signature, now) == "posted" else None

    def _await(self, epoch: int, signature: str, now: int) -> str:
        chain = self.chain
        assert chain is not None
        try:
            chain.confirm(signature, self.confirm_timeout)
        except tx.ConfirmationTimeout:
            return "pending"
        except tx.TransactionFailed:
            pass  # executed with an error: the lookup below records it
        return self._settle(epoch, signature, now)

    def _settle(self, epoch: int, signature: str, now: int) -> str:
        chain = self.chain
        assert chain is not None
        found = chain.lookup(signature)
        if found.state == "landed":
            self._mark_posted(epoch, found.slot, now)
            return "posted"
        if found.state == "failed":
            self._drop_post(epoch, now, f"post {signature} failed on chain: {found.err}")
            return "dropped"
        return "pending"

    def _resolve(self, row: Epoch, now: int) -> str:
        """A recorded post: on chain -> posted; failed or expired -> dropped; else sent again and awaited."""
        chain = self.chain
        assert chain is not None and row.post_signature is not None
        outcome = self._settle(row.epoch, row.post_signature, now)
        if outcome != "pending":
            return outcome
        if chain.block_height() > (row.post_last_valid_block_height or 0):
            found = chain.lookup(row.post_signature)  # once more: it may have landed just before expiring
            if found.state == "unknown":
                self._drop_post(row.epoch, now, f"post {row.post_signature} expired without landing")
                return "dropped"
            return self._settle(row.epoch, row.post_signature, now)
        log.info("epoch %d: post %s not on chain yet; sending the same bytes again", row.epoch, row.post_signature)
        chain.rebroadcast(row.post_tx or b"")
        return self._await(row.epoch, row.post_signature, now)

    def _mark_posted(self, epoch: int, slot: int | None, now: int, note: str | None = None) -> None:
        with self.factory.begin() as s:
            row = s.get(Epoch, epoch)
            assert row is not None
            row.state, row.posted_in, row.posted_slot, row.posted_at, row.updated_at = POSTED, epoch, slot, now, now
            row.error = note
            for older in s.scalars(select(Epoch).where(Epoch.state == COMPUTED, Epoch.epoch < epoch)):
                older.state, older.posted_in, older.updated_at = SUPERSEDED, epoch, now
        log.info("epoch %d posted (slot %s)", epoch, slot)

    def _drop_post(self, epoch: int, now: int, why: str) -> None:
        log.warning("epoch %d: %s", epoch, why)
        with self.factory.begin() as s:
            row = s.get(Epoch, epoch)
            assert row is not None
            row.post_signature = row.post_tx = row.post_last_valid_block_height = None
            row.post_funding = row.post_community = None
            row.error, row.updated_at = why, now

    def _error(self, epoch: int, now: int, why: str) -> None:
        log.error("epoch %d: %s", epoch, why)
        with self.factory.begin() as s:
            row = s.get(Epoch, epoch)
            if row is not None:
                row.error, row.updated_at = why, now

    # -- finalizing -----------------------------------------------------------------------------------------
    def finalize(self, now: int) -> list[int]:
        """Step 4: posted epochs whose finalized RewardsRootPosted the indexer has."""
        done = []
        with self.factory.begin() as s:
            for row in s.scalars(select(Epoch).where(Epoch.state == POSTED)):
                found = sources.posted_root(s, row.epoch)
                if found is not None and (found[0] or "").lower() == row.merkle_root:
                    row.state, row.finalized_slot, row.finalized_at, row.updated_at = FINALIZED, found[1], now, now
                    done.append(row.epoch)
        return done


def make_runner(settings: Settings, factory: sessionmaker[Session], with_chain: bool = True) -> EpochRunner:
    """A runner for a deployment: clock and chain from settings and the bootstrap file."""
    from backend.chain import bootfile
    from backend.epochs.clock import epoch_clock

    clock = epoch_clock(settings)
    boot = bootfile.load(settings.resolved_bootstrap_file)
    program_id = settings.program_id or (boot.staking.program_id if boot.staking else None)
    chain = EpochChain.from_settings(settings) if with_chain else None
    return EpochRunner(factory, settings, clock, chain, boot.decimals, program_id)

