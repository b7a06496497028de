"""Request and response bodies of the node registry, the marketplace and the wallet view.

Amounts are decimal strings of IO base units; ``as_of_slot`` is the finalized slot indexed state reflects.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[str, Field(description="IO base units as a decimal string", examples=["1250000000"])]
Bps = Annotated[int, Field(ge=0, le=10_000, description="Basis points (10000 = 100%)")]
RecordStatus = Literal["draft", "registered", "conflict"]


class NodeCreateIn(BaseModel):
    """A GPU machine to register; the caller (signed in) becomes its operator."""

    model_config = ConfigDict(extra="forbid")

    node_key: str = Field(max_length=64, description="The machine's key (`iog agent keygen`), base58")
    name: str = Field(min_length=1, max_length=64)
    gpu_model: str = Field(min_length=1, max_length=32, description="One of the models the reward parameters know")
    gpu_units: int = Field(ge=1, le=65_535, description="GPUs on the machine")
    vram_gb: int = Field(ge=1, le=100_000, description="GPU memory per GPU, GB")
    region: str = Field(min_length=1, max_length=32)
    description: str | None = Field(None, max_length=2_000)
    commission_bps: Bps


class NodePatchIn(BaseModel):
    """Registry fields an operator may change (gpu_units and commission live on chain)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=64)
    region: str | None = Field(None, min_length=1, max_length=32)
    description: str | None = Field(None, max_length=2_000)
    gpu_model: str | None = Field(None, min_length=1, max_length=32, description="A change is recorded with its time")


class NodeRecordOut(BaseModel):
    """The registry's record of a node (off chain)."""

    node: str = Field(description="The Node account (PDA of the node key)")
    node_key: str
    operator: str
    name: str
    gpu_model: str
    gpu_units: int
    vram_gb: int
    region: str
    description: str | None
    commission_bps: int = Field(description="As asked at registration (the chain's value is on GET /nodes/{node})")
    status: RecordStatus = Field(
        description="draft (register_node not finalized yet), registered (the finalized NodeRegistered event has "
        "this operator and gpu_units) or conflict (it differs: see status_reason)"
    )
    status_reason: str | None
    created_at: int
    updated_at: int
    gpu_model_changed_at: int | None
    as_of_slot: int | None = Field(description="Finalized slot the status reflects (null: nothing indexed yet)")


class NodeCreateOut(BaseModel):
    """The draft record and the register_node transaction to sign: node key first, then the operator's wallet."""

    record: NodeRecordOut
    transaction: str = Field(description="base64 of the unsigned transaction; the operator's wallet is fee payer")
    message: str
    last_valid_block_height: int
    signers: list[str] = Field(description="Fee payer (the operator) first, then the node key")
    compute_unit_limit: int
    priority_micro_lamports: int
    next_steps: list[str] = Field(description="How the two signatures are added")


class ScoreComponentOut(BaseModel):
    """One ranked component of the score."""

    name: Literal["commission", "uptime", "age", "compute"]
    value: int | None = Field(
        description="The input: commission_bps incl. a pending increase, uptime_30d_bps, "
        "age in seconds, or GPU-seconds over 7 days (null: no data)"
    )
    rank_bps: int = Field(description="Percentile rank among eligible nodes, 0..10000 (better is higher)")
    weight_bps: int


class ScoreOut(BaseModel):
    """The published score of a node and why."""

    version: int
    value: int = Field(description="0..10000; 0 when not eligible")
    eligible: bool
    ineligible_reasons: list[str] = Field(description="operator_below_minimum, slashed_recently, inactive")
    components: list[ScoreComponentOut]


class SlashesOut(BaseModel):
    count: int
    total: Amount
    last_reason: int | None = Field(description="The reason code of the latest slash")
    last_slot: int | None
    last_at: int | None = Field(description="Unix time of the latest slash")


class MarketNodeOut(BaseModel):
    """A node as a delegator compares it."""

    node: str
    node_key: str | None
    operator: str | None
    name: str | None = Field(description="Registry fields are null for a node registered without the API")
    gpu_model: str | None
    gpu_units: int | None
    vram_gb: int | None
    region: str | None
    record_status: RecordStatus | None
    status: Literal["active", "inactive"]
    registered_at: int | None = Field(description="Unix time of the finalized registration")
    age_epochs: int | None
    total_stake: Amount
    operator_stake: Amount
    delegated_stake: Amount
    unbonding_stake: Amount
    min_operator_stake: Amount | None = Field(description="min_stake_per_gpu x gpu_units: delegations need it")
    capacity_left: Amount = Field(
        description="What can still be delegated under max_delegation_bps at the current operator stake (never "
        "above the program's limit, at most a few base units below it)"
    )
    commission_bps: int | None = Field(description="Commission in force when the stats were refreshed")
    pending_commission_bps: int | None = Field(description="A scheduled increase not yet in force")
    commission_effective_at: int | None
    uptime_24h_bps: int | None
    uptime_7d_bps: int | None
    uptime_30d_bps: int | None
    compute_7d_gpu_seconds: int | None
    rewards_24_epochs: Amount | None = Field(description="Rewards of the node over the last 24 epochs")
    estimated_apy_bps: int | None = Field(
        description="A delegator's yield after commission from actual payouts of the last 7 days, annualized; "
        "null without history. Never a promise."
    )
    slashes: SlashesOut
    delegator_count: int
    score: ScoreOut
    last_slot: int


class MarketPage(BaseModel):
    """One page of the marketplace."""

    items: list[MarketNodeOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")
    sort: str
    score_version: int
    as_of_slot: int | None = Field(description="Finalized slot the stats reflect (null: never refreshed)")
    refreshed_at: int | None = Field(description="Unix time of the stats refresh")


class ScoreComponentDoc(BaseModel):
    name: str
    weight_bps: int
    input: str
    better: Literal["higher", "lower"]
    when_missing: str


class ScoreDoc(BaseModel):
    """How the score is computed (published, versioned)."""

    version: int
    summary: str
    eligibility: list[str]
    slash_window_seconds: int
    components: list[ScoreComponentDoc]
    rank: str
    formula: str


class IoBalanceOut(BaseModel):
    amount: Amount | None = Field(description="null when the cluster could not be read (see error)")
    token_account: str
    source: Literal["chain"] = Field(description="Read from the cluster, not from the indexer")
    commitment: Literal["confirmed"]
    slot: int | None = Field(description="The slot of the read")
    error: str | None = None


class PendingCommissionOut(BaseModel):
    bps: int
    effective_at: int


class WalletEntryOut(BaseModel):
    """One unbonding entry (a position holds up to 8, each with its own cooldown)."""

    amount: Amount = Field(description="What was requested")
    value: Amount = Field(description="What it is worth now (after any slash)")
    unlock_time: int = Field(description="Unix time it can be withdrawn")
    withdrawable: bool = Field(description="Unlocked at `at`")


class WalletPositionOut(BaseModel):
    """One position of the wallet, with what the node's operator has scheduled."""

    node: str
    node_key: str | None
    node_name: str | None
    is_operator: bool
    bonded: Amount
    unbonding: Amount
    unlock_time: int | None = Field(description="The earliest unlock of its unbonding entries")
    withdrawable: Amount = Field(description="What withdraw pays at `at`")
    entries: list[WalletEntryOut] = Field(description="Its unbonding entries, oldest first")
    withdrawn: Amount = Field(description="Total withdrawn so far")
    commission_bps: int | None = Field(description="The node's commission in force at `at`")
    pending_commission: PendingCommissionOut | None = Field(description="The node's scheduled increase, if any")
    node_status: Literal["active", "inactive"]
    last_slot: int


class WalletRewardsOut(BaseModel):
    """A wallet's rewards from the epoch runner's stored output (details and the proof: /wallets/{w}/rewards)."""

    lifetime_total: Amount = Field(description="Its lifetime total in the latest posted root")
    claimed: Amount = Field(description="Claimed so far (finalized Claimed events)")
    claimable: Amount = Field(description="lifetime_total - claimed")
    latest_epoch: int | None = Field(description="The latest posted epoch (null before any root is posted)")


class WalletOut(BaseModel):
    """A wallet: IO balance, stake positions and (once epochs exist) rewards."""

    wallet: str
    at: int = Field(description="Unix time unlocks and commissions are evaluated at")
    as_of_slot: int | None = Field(description="Finalized slot the positions reflect (null: nothing indexed yet)")
    io_balance: IoBalanceOut
    bonded: Amount
    unbonding: Amount
    withdrawable: Amount
    positions: list[WalletPositionOut]
    rewards: WalletRewardsOut = Field(description="Lifetime total, claimed, claimable, latest posted epoch")
