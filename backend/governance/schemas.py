"""Request and response models of /governance. Amounts and stakes are decimal strings of base units."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[str, Field(description="Base units as a decimal string", examples=["1250000000"])]


class GrantIn(BaseModel):
    """What a grant pays: IO base units to the recipient's wallet (its IO token account is created if needed)."""

    model_config = ConfigDict(extra="forbid")

    recipient: str = Field(description="The wallet paid (base58)")
    amount: Amount


class ProposalIn(BaseModel):
    """A proposal; the snapshot slot (the indexer's finalized slot) and the voting window are fixed at creation."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=20_000)
    kind: Literal["grant", "signal"]
    grant: GrantIn | None = Field(None, description="Required for a grant, absent for a signal")
    options: list[str] | None = Field(
        None, description='Choices (default ["yes", "no", "abstain"]); must hold "yes" and "no"', max_length=8
    )


class BallotIn(BaseModel):
    """A ballot signed by the voter's wallet: ed25519 over ``b"iog-ballot/1\\n"`` + canonical JSON of ``payload``."""

    voter: str = Field(description="The voting wallet (base58)")
    payload: dict[str, Any] = Field(
        description="{proposal, choice, nonce}", examples=[{"proposal": "gp_...", "choice": "yes", "nonce": "1"}]
    )
    signature: str = Field(description="Base58 of the 64-byte signature")


class BallotOut(BaseModel):
    seq: int = Field(description="Received order (a later ballot of a voter replaces the earlier)")
    voter: str
    payload: dict[str, Any]
    signature: str
    choice: str
    received_at: int
    replaced: bool


class BallotList(BaseModel):
    proposal: str
    voting_ends_at: int
    ballots: list[BallotOut]


class SnapshotEntryOut(BaseModel):
    wallet: str
    stake: Amount = Field(description="Bonded stake at the snapshot slot")
    bonded_at_close: Amount | None = Field(description="Bonded stake when the vote closed (voters only)")
    weight: Amount | None = Field(description="min(stake, bonded_at_close): the ballot's weight (voters only)")


class SnapshotOut(BaseModel):
    proposal: str
    snapshot_slot: int
    total: Amount = Field(description="All bonded stake at the snapshot slot (the quorum's base)")
    entries: list[SnapshotEntryOut]


class PayoutOut(BaseModel):
    id: str
    status: str
    amount: Amount
    destination: str
    signature: str | None
    slot: int | None


class MemoOut(BaseModel):
    status: str | None
    signature: str | None
    slot: int | None
    text: str | None


class ProposalOut(BaseModel):
    id: str
    proposer: str
    title: str
    body: str
    kind: str
    options: list[str]
    grant: GrantIn | None
    state: Literal["Draft", "Voting", "Succeeded", "Defeated", "Cancelled", "Executing", "Completed"]
    snapshot_slot: int
    snapshot_total: Amount
    quorum_bps: int
    threshold_bps: int
    hold_up_seconds: int
    voting_starts_at: int
    voting_ends_at: int
    executable_at: int | None = Field(description="Grants: when the hold-up time after the close ends")
    outcome: dict[str, Any] | None = Field(description="The tally's outcome document (after the close)")
    outcome_hash: str | None = Field(description="sha256 (hex) of the outcome's canonical JSON")
    memo: MemoOut
    payout: PayoutOut | None
    execution_note: str | None
    created_at: int


class ProposalList(BaseModel):
    proposals: list[ProposalOut]
