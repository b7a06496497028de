"""Epoch state: the versioned reward parameter sets, the epochs the runner closes with their stored input and
output bytes, and per-node results (what the marketplace and ``GET /nodes/{node}/epochs`` show)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import KEY, SIG


class RewardParamSet(Base):
    """One version of the reward parameters; never edited: a change is a new version."""

    __tablename__ = "reward_param_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[str] = mapped_column(Text)  # canonical JSON (sorted keys, no spaces)
    created_at: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(256), default="")


#: Values of ``Epoch.state``, in order. ``superseded``: computed, never posted itself, because a later epoch's
#: root (whose lifetime totals include it) was posted first; its community share went with that post.
OPEN, CLOSING, COMPUTED, POSTED, FINALIZED, SUPERSEDED = (
    "open",
    "closing",
    "computed",
    "posted",
    "finalized",
    "superseded",
)


class Epoch(Base):
    """One epoch and where its close stands: ``open -> closing -> computed -> posted -> finalized``.

    ``closing``: the input is built and stored (``inputs_sha256``); ``computed``: the engine's output is stored
    with the node results; ``posted``: ``post_rewards_root`` (with the community transfer in the same
    transaction) is confirmed on chain; ``finalized``: the indexer has the finalized RewardsRootPosted event.
    The post is recorded (``post_signature``, the signed ``post_tx`` and its blockhash's
    ``post_last_valid_block_height``) before it is sent, so a restarted runner looks it up instead of sending
    another one.
    """

    __tablename__ = "epochs"
    __table_args__ = (Index("ix_epochs_state", "state"),)

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int] = mapped_column(BigInteger)
    params_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    as_of_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    inputs_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    merkle_root: Mapped[str | None] = mapped_column(String(64), nullable=True)
    emission: Mapped[int | None] = mapped_column(Money, nullable=True)
    community: Mapped[int | None] = mapped_column(Money, nullable=True)
    unallocated: Mapped[int | None] = mapped_column(Money, nullable=True)
    payouts_total: Mapped[int | None] = mapped_column(Money, nullable=True)
    cumulative_total: Mapped[int | None] = mapped_column(Money, nullable=True)
    nodes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    eligible_nodes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The post (this epoch's, or for a superseded epoch the later one that carried it).
    posted_in: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    post_signature: Mapped[str | None] = mapped_column(String(SIG), nullable=True)
    post_tx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    post_last_valid_block_height: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    post_funding: Mapped[int | None] = mapped_column(Money, nullable=True)
    post_community: Mapped[int | None] = mapped_column(Money, nullable=True)
    community_account: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    post_attempts: Mapped[int] = mapped_column(Integer, default=0)
    posted_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finalized_slot: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closing_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    computed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    posted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finalized_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class EpochDocument(Base):
    """The exact bytes of an epoch's ``iog.rewards.input/1`` and ``iog.rewards.output/1`` documents."""

    __tablename__ = "epoch_documents"

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    inputs_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    input: Mapped[bytes] = mapped_column(LargeBinary)
    output: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class EpochNode(Base):
    """A node's inputs and outcome in a computed epoch (copied from the stored documents, for queries)."""

    __tablename__ = "epoch_nodes"
    __table_args__ = (Index("ix_epoch_nodes_node_key_epoch", "node_key", "epoch"),)

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    node_key: Mapped[str | None] = mapped_column(String(KEY), nullable=True)
    operator: Mapped[str] = mapped_column(String(KEY))
    gpu_model: Mapped[str] = mapped_column(String(32))
    gpu_units: Mapped[int] = mapped_column(Integer)
    uptime_seconds: Mapped[int] = mapped_column(BigInteger)
    continuous_uptime_seconds: Mapped[int] = mapped_column(BigInteger)
    verified: Mapped[bool] = mapped_column(Boolean)
    slashed: Mapped[bool] = mapped_column(Boolean)
    compute_gpu_seconds: Mapped[int] = mapped_column(BigInteger)
    total_stake: Mapped[int] = mapped_column(Money)
    eligible: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(String(256))  # comma-separated, in the engine's order
    reward: Mapped[int] = mapped_column(Money)
    availability_reward: Mapped[int] = mapped_column(Money)
    compute_reward: Mapped[int] = mapped_column(Money)
    operator_commission: Mapped[int] = mapped_column(Money)
