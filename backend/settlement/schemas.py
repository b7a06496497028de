"""Request and response models of /jobs, /refunds and /supply. Amounts are decimal strings of base units."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[str, Field(description="Base units as a decimal string", examples=["1250000000"])]


class JobIn(BaseModel):
    """A job to start: its budget is reserved from the buyer's balance now."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="The orchestrator's job id (as in usage records)")
    buyer: str | None = Field(None, description="Required for an orchestrator key; a signed-in buyer is the buyer")
    node: str = Field(description="The node's device key (as in usage records)")
    currency: Literal["IO", "USDC"]
    price_per_gpu_hour: Amount
    gpu_units: int = Field(ge=1, le=65_535)
    budget: Amount


class ChargeOut(BaseModel):
    period_start: int
    gpu_seconds: int
    billed_seconds: int
    compute: Amount
    buyer_fee: Amount
    provider_fee: Amount
    note: str | None


class JobOut(BaseModel):
    id: str
    buyer: str
    node: str
    operator: str
    currency: str
    price_per_gpu_hour: Amount
    gpu_units: int
    budget: Amount
    buyer_fee_bps: int
    provider_fee_bps: int
    status: str = Field(description="running | completed | cancelled | budget_spent")
    created_at: int
    ended_at: int | None
    billed_seconds: int
    compute: Amount = Field(description="Compute charged so far (before fees)")
    buyer_fees: Amount
    provider_fees: Amount
    reserved_left: Amount = Field(description="Budget not charged (returned to the balance when the job ends)")
    charges: list[ChargeOut]


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Literal["IO", "USDC", "USDC-EVM"]
    amount: Amount | None = Field(None, description="Base units (default: the whole balance)")
    to: str | None = Field(
        None,
        description="USDC-EVM only: the 0x address to refund, one that paid the buyer's invoices (default: the "
        "newest payer); Solana refunds always go to the signed-in wallet",
    )


class TransferOut(BaseModel):
    """A payout or refund from the treasury."""

    id: str
    kind: str
    owner: str
    currency: str
    amount: Amount
    destination: str
    reference: str = Field(description="The fresh reference key the transfer names on chain")
    status: str = Field(description="planned | sent | finalized | failed")
    signature: str | None
    slot: int | None
    created_at: int


class TransferList(BaseModel):
    owner: str
    items: list[TransferOut]


class BurnOut(BaseModel):
    epoch: int
    amount: Amount
    status: str
    signature: str | None
    slot: int | None


class SupplyOut(BaseModel):
    currency: str
    mint: str
    decimals: int
    supply: Amount = Field(description="The mint's supply on chain (finalized)")
    burned: Amount = Field(description="Burned from the treasury (finalized burns the indexer saw)")
    minted: Amount = Field(description="supply + burned")
    non_circulating: dict[str, Amount] = Field(description="Network accounts: treasury, emission reserve, ...")
    circulating: Amount = Field(description="supply - non_circulating")
    as_of_slot: int
    burns: list[BurnOut]
