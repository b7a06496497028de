"""Bodies of the epoch routes (amounts are decimal strings of base units)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.models.epochs import Epoch, EpochNode


def _s(v: int | None) -> str | None:
    return None if v is None else str(v)


class EpochOut(BaseModel):
    epoch: int
    state: str = Field(description="open, closing, computed, posted, finalized, or superseded (computed, never "
                       "posted itself: a later posted root holds its totals)")  # fmt: skip
    start_time: int
    end_time: int
    params_version: int | None
    as_of_slot: int | None = Field(description="Finalized slot the indexer had read when the input was built")
    inputs_sha256: str | None
    merkle_root: str | None
    emission: str | None
    community: str | None = Field(description="Community (grants) share of the emission")
    unallocated: str | None = Field(description="Left in the emission reserve (pools without eligible weight)")
    payouts_total: str | None = Field(description="This epoch's payouts")
    cumulative_total: str | None = Field(description="Sum of all lifetime totals after this epoch")
    nodes: int | None
    eligible_nodes: int | None
    posted_in: int | None = Field(description="The epoch whose post put this epoch's totals on chain")
    signature: str | None = Field(description="The post_rewards_root transaction (recorded before it is sent)")
    funding: str | None = Field(description="Moved from the emission reserve to the rewards vault by the post")
    community_transfer: str | None = Field(
        description="Moved to the community treasury in the post's transaction (this and superseded epochs)"
    )
    community_account: str | None
    posted_slot: int | None
    finalized_slot: int | None
    error: str | None = Field(description="The last problem the runner met with this epoch, if any")

    @classmethod
    def of(cls, e: Epoch) -> EpochOut:
        return cls(
            epoch=e.epoch, state=e.state, start_time=e.start_time, end_time=e.end_time,
            params_version=e.params_version, as_of_slot=e.as_of_slot, inputs_sha256=e.inputs_sha256,
            merkle_root=e.merkle_root, emission=_s(e.emission), community=_s(e.community),
            unallocated=_s(e.unallocated), payouts_total=_s(e.payouts_total), cumulative_total=_s(e.cumulative_total),
            nodes=e.nodes, eligible_nodes=e.eligible_nodes, posted_in=e.posted_in, signature=e.post_signature,
            funding=_s(e.post_funding), community_transfer=_s(e.post_community), community_account=e.community_account,
            posted_slot=e.posted_slot, finalized_slot=e.finalized_slot, error=e.error,
        )  # fmt: skip


class EpochPage(BaseModel):
    items: list[EpochOut]
    total: int
    limit: int
    offset: int


class NodeEpochOut(BaseModel):
    epoch: int
    node: str = Field(description="The Node account")
    node_key: str | None = Field(description="The node's device key")
    gpu_model: str
    gpu_units: int
    uptime_seconds: int
    continuous_uptime_seconds: int
    verified: bool
    slashed: bool
    compute_gpu_seconds: int
    total_stake: str
    eligible: bool
    reasons: list[str] = Field(description="Why the node earned nothing (empty when eligible)")
    reward: str
    availability_reward: str
    compute_reward: str
    operator_commission: str

    @classmethod
    def of(cls, n: EpochNode) -> NodeEpochOut:
        return cls(
            epoch=n.epoch, node=n.node, node_key=n.node_key, gpu_model=n.gpu_model, gpu_units=n.gpu_units,
            uptime_seconds=n.uptime_seconds, continuous_uptime_seconds=n.continuous_uptime_seconds,
            verified=n.verified, slashed=n.slashed, compute_gpu_seconds=n.compute_gpu_seconds,
            total_stake=str(n.total_stake), eligible=n.eligible, reasons=[r for r in n.reasons.split(",") if r],
            reward=str(n.reward), availability_reward=str(n.availability_reward), compute_reward=str(n.compute_reward),
            operator_commission=str(n.operator_commission),
        )  # fmt: skip


class NodeEpochPage(BaseModel):
    items: list[NodeEpochOut]
    total: int
    limit: int
    offset: int


class WalletRewardsOut(BaseModel):
    wallet: str
    epoch: int | None = Field(description="The latest posted epoch (null before any root is posted)")
    merkle_root: str | None
    lifetime_total: str = Field(description="The wallet's lifetime total in the latest posted root")
    claimed: str = Field(description="Claimed so far (finalized Claimed events)")
    claims: int
    claimable: str = Field(description="lifetime_total - claimed")
    proof: list[str] | None = Field(description="Sibling hashes (hex), leaf to root, for the latest posted root")
    computed_epoch: int | None = Field(description="The newest computed epoch (may not be posted yet)")
    computed_total: str = Field(description="The wallet's lifetime total in the newest computed epoch")
