"""Response models of the staking API. Amounts are decimal strings of IO base units, never floats."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Amount = Annotated[str, Field(description="IO base units as a decimal string", examples=["1250000000"])]


class NodeOut(BaseModel):
    """A node of the staking program with its stake pools as of the last finalized event."""

    node: str
    operator: str | None
    gpu_units: int | None
    commission_bps: int | None = Field(description="Commission in force at the evaluated time")
    pending_commission_bps: int | None = Field(description="Scheduled commission not yet in force")
    commission_effective_at: int | None = Field(description="Unix time the pending commission takes effect")
    status: Literal["active", "inactive"]
    total_stake: Annotated[Amount, Field(description="Bonded stake, IO base units")]
    unbonding_stake: Amount
    operator_stake: Annotated[Amount, Field(description="Bonded value of the operator's own position")]
    delegated_stake: Annotated[Amount, Field(description="Bonded stake minus the operator's own")]
    delegated_share_bps: int = Field(description="Delegated share of the bonded stake, basis points (floor)")
    slashed_total: Amount
    positions: int = Field(description="Stake positions on this node")
    last_slot: int
    # The registry's record (backend/nodes), null for a node registered on chain without the API.
    node_key: str | None = Field(None, description="The node machine's key")
    name: str | None = None
    gpu_model: str | None = None
    vram_gb: int | None = None
    region: str | None = None
    description: str | None = None
    record_status: Literal["draft", "registered", "conflict"] | None = Field(
        None, description="The registry record's status (conflict: see record_status_reason)"
    )
    record_status_reason: str | None = None
    as_of_slot: int | None = Field(None, description="Finalized slot the chain state reflects")


class NodePage(BaseModel):
    """One page of nodes, largest bonded stake first."""

    items: list[NodeOut]
    total: int
    limit: int
    offset: int
    as_of_slot: int | None = Field(None, description="Finalized slot the chain state reflects")


class UnbondingEntryOut(BaseModel):
    """One unbonding entry of a position (one request_unstake): it unlocks on its own, and it bears any slash of
    the node until it is withdrawn."""

    amount: Annotated[Amount, Field(description="Amount requested")]
    value: Annotated[Amount, Field(description="What the entry is worth now (after slashes), rounded down")]
    unlock_time: int = Field(description="Unix time the entry can be withdrawn")
    withdrawable: bool = Field(description="Whether the entry has unlocked at the evaluated time")
    signature: str = Field(description="The request_unstake transaction")


class PositionOut(BaseModel):
    """One owner's stake on one node."""

    node: str
    owner: str
    shares: str
    bonded: Amount
    unbonding_shares: str
    unbonding: Annotated[Amount, Field(description="Value of every unbonding entry, matured or not")]
    unlock_time: int | None = Field(description="Earliest unlock time of the unbonding entries (None without any)")
    withdrawable: Annotated[
        Amount, Field(description="What withdraw pays at the evaluated time: the entries unlocked by then")
    ]
    withdrawn: Annotated[Amount, Field(description="Total withdrawn so far")]
    entries: list[UnbondingEntryOut] = Field(description="Unbonding entries, in request order (at most 8)")
    last_slot: int


class NodePositions(BaseModel):
    """One page of a node's positions, largest bonded first."""

    node: str
    items: list[PositionOut]
    total: int
    limit: int
    offset: int
    as_of_slot: int | None = Field(None, description="Finalized slot the positions reflect")


class WalletPositions(BaseModel):
    """Every position of a wallet and their sums."""

    wallet: str
    at: int = Field(description="Unix time withdrawable was evaluated at")
    bonded: Amount
    unbonding: Amount
    withdrawable: Amount
    positions: list[PositionOut]
    as_of_slot: int | None = Field(None, description="Finalized slot the positions reflect")
