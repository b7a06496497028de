"""Off-chain inputs of rewards and billing: compute delivered (usage records from the job orchestrator), heartbeats
(replay guard, per-epoch uptime bitmaps, continuous-uptime runs) and verification challenges."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base
from backend.models.indexer import KEY


class UsageRecord(Base):
    """GPU-seconds a node delivered to a job over a period; one row per (job, period start), never edited.

    ``node`` is the node's device key (the identity that signs heartbeats), as the orchestrator knows it.
    """

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_node_period", "node", "period_start"),)

    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    period_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_end: Mapped[int] = mapped_column(BigInteger)
    node: Mapped[str] = mapped_column(String(KEY))
    gpu_seconds: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))  # the API key id that reported it


class NodeTelemetry(Base):
    """A node's heartbeat state: the replay guard (``last_seq``, ``last_ts``), its continuous-uptime run and the
    bitmap of its newest epoch.

    ``last_minute`` is the newest minute (counted from the epoch genesis) with an accepted heartbeat and
    ``streak_minutes`` the up-minutes of the run that minute belongs to (a gap of more than
    ``IOG_UPTIME_MAX_GAP_MINUTES`` starts a new run). ``epoch``/``minutes``/``up_minutes`` repeat the node's
    newest ``epoch_uptime`` row, so a heartbeat reads one row per node (heartbeats of a node only move forward in
    time: ts must advance); ``ch_*`` repeat its newest challenge, so the steady path reads nothing else.
    """

    __tablename__ = "node_telemetry"

    node_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    last_received_at: Mapped[int] = mapped_column(BigInteger)
    last_minute: Mapped[int] = mapped_column(BigInteger)
    streak_minutes: Mapped[int] = mapped_column(BigInteger)
    gpu_model: Mapped[str] = mapped_column(String(32))
    gpu_units: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[bytes] = mapped_column(LargeBinary)
    up_minutes: Mapped[int] = mapped_column(Integer)
    # The node's newest challenge, as in ``challenges`` (see Challenge).
    ch_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ch_epoch: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ch_issue_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ch_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ch_nonce: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ch_difficulty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ch_issued_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ch_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EpochUptime(Base):
    """Per node and epoch: a bitmap of the epoch's minutes with at least one accepted heartbeat.

    Bit ``i`` (byte ``i // 8``, bit ``i % 8``) is minute ``i`` of the epoch. ``last_minute`` (genesis minutes)
    and ``streak_minutes`` are the continuous-uptime run as of the epoch's last up minute; the epoch runner
    reads them to tell whether the run was still alive at the epoch's end.
    """

    __tablename__ = "epoch_uptime"
    __table_args__ = (Index("ix_epoch_uptime_epoch", "epoch"),)

    node_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    minutes: Mapped[bytes] = mapped_column(LargeBinary)
    up_minutes: Mapped[int] = mapped_column(Integer)
    last_minute: Mapped[int] = mapped_column(BigInteger)
    streak_minutes: Mapped[int] = mapped_column(BigInteger)


#: Values of ``Challenge.status``.
SCHEDULED, ISSUED, PASSED, FAILED, EXPIRED = "scheduled", "issued", "passed", "failed", "expired"


class Challenge(Base):
    """A verification challenge of a node for an epoch.

    ``scheduled`` (its minute ``issue_at`` is chosen at random when the node is first seen in the epoch) ->
    ``issued`` (handed out in the answer to the first heartbeat at or after ``issue_at``; ``nonce``,
    ``difficulty`` and ``deadline`` are set) -> ``passed`` | ``failed`` (answered correctly / wrongly in time) or
    ``expired`` (answered after the deadline). A challenge that is not ``passed`` by the epoch's close makes
    the node not verified for that epoch.
    """

    __tablename__ = "challenges"
    __table_args__ = (Index("ix_challenges_epoch_node", "epoch", "node_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_key: Mapped[str] = mapped_column(String(KEY))
    epoch: Mapped[int] = mapped_column(BigInteger)
    issue_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    verifier: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str | None] = mapped_column(String(128), nullable=True)
    difficulty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    answered_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
