"""The epoch runner over the database (no chain): closing steps, stored bytes, resumption, node results."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.epochs.clock import EpochClock
from backend.epochs.runner import EpochRunner
from backend.models.epochs import CLOSING, COMPUTED, OPEN, Epoch, EpochDocument, EpochNode
from backend.rewards.engine import compute_epoch, json_bytes
from tests.backend.epochs.helpers import EPOCH, GRACE, G, drive

CLOCK = EpochClock(G, EPOCH, GRACE)


def up(name: str, minute: int) -> bool:
    return not (name == "flaky" and 0 <= minute < 3)  # offline for the first 3 minutes of epoch 0


def stored(session_factory: sessionmaker[Session], epoch: int) -> tuple[Epoch, bytes, bytes]:
    with session_factory() as s:
        row = s.get(Epoch, epoch)
        assert row is not None
        doc = s.get(EpochDocument, (epoch, row.inputs_sha256))
        assert doc is not None and doc.output is not None
        return row, doc.input, doc.output


class TestClose:
    def test_two_epochs_with_reasons_and_stored_bytes_equal_the_engine(
        self, db_world: dict[str, Any], session_factory: sessionmaker[Session]
    ) -> None:
        runner = db_world["runner"]
        runner.open_current(G)
        drive(db_world["client"], db_world["agents"], range(0, 11), up)  # minutes 0..10: epochs 0, 1 and one more
        report = runner.tick(G + 2 * EPOCH + GRACE)  # both frozen
        assert report.closed == [0, 1]
        for epoch in (0, 1):
            row, inp, out = stored(session_factory, epoch)
            assert row.state == COMPUTED
            result = compute_epoch(orjson.loads(inp))
            assert json_bytes(result.to_json()) == out  # the stored output is the engine's on the stored input
            assert result.inputs_sha256 == row.inputs_sha256 and result.merkle_root.hex() == row.merkle_root
        healthy, flaky, failing = db_world["nodes"]
        with session_factory() as s:
            rows = {(r.epoch, r.node): r for r in s.scalars(select(EpochNode))}
        h0, f0, x0 = (rows[(0, n.node)] for n in (healthy, flaky, failing))
        assert h0.eligible and h0.reasons == "" and h0.uptime_seconds == EPOCH and h0.verified and h0.reward > 0
        assert f0.reasons == "uptime_below_minimum" and f0.uptime_seconds == 120 and f0.reward == 0
        assert x0.reasons == "not_verified" and not x0.verified and x0.reward == 0
        f1 = rows[(1, flaky.node)]
        assert f1.eligible and f1.uptime_seconds == EPOCH  # back up for all of epoch 1
        # Epoch 1 starts from epoch 0's lifetime totals.
        _, inp1, _ = stored(session_factory, 1)
        _, _, out0 = stored(session_factory, 0)
        totals0 = {t["wallet"]: t["cumulative"] for t in orjson.loads(out0)["totals"]}
        assert orjson.loads(inp1)["previous_totals"] == totals0 and totals0
        assert db_world["delegator"] in totals0  # delegated stake earns (minus commission)

    def test_an_epoch_is_not_closed_before_its_grace_ends(self, db_world: dict[str, Any]) -> None:
        runner = db_world["runner"]
        runner.open_current(G)
        assert runner.tick(G + EPOCH + GRACE - 1).closed == []
        assert runner.tick(G + EPOCH + GRACE).closed == [0]

    def test_a_close_resumes_from_the_stored_input(
        self, db_world: dict[str, Any], session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runner = db_world["runner"]
        runner.open_current(G)
        drive(db_world["client"], db_world["agents"], range(0, 6), up)

        def crash(*_a: Any, **_k: Any) -> None:
            raise KeyboardInterrupt("crash after the input was stored")

        monkeypatch.setattr(runner, "_compute", crash)
        with pytest.raises(KeyboardInterrupt):
            runner.tick(G + EPOCH + GRACE)
        with session_factory() as s:
            row = s.get(Epoch, 0)
            assert row is not None and row.state == CLOSING
            digest = row.inputs_sha256
        # More telemetry arrives (it would change a rebuilt input): the stored one is used.
        drive(db_world["client"], db_world["agents"], range(6, 8), up)
        monkeypatch.undo()
        fresh = EpochRunner(session_factory, runner.settings, CLOCK, None, 8, None)
        assert fresh.tick(G + EPOCH + GRACE + 1).closed == [0]
        row, _, _ = stored(session_factory, 0)
        assert row.state == COMPUTED and row.inputs_sha256 == digest

    def test_the_current_epoch_is_recorded_open(self, db_world: dict[str, Any], session_factory: Any) -> None:
        db_world["runner"].tick(G + 10)
        with session_factory() as s:
            assert [(r.epoch, r.state) for r in s.scalars(select(Epoch))] == [(0, OPEN)]
