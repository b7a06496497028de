"""Response models of the payments API. Amounts are decimal strings of base units, never floats."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

Amount = Annotated[str, Field(description="Base units as a decimal string", examples=["1250000000"])]


class TransferOut(BaseModel):
    """One token transfer that names the reference."""

    signature: str
    ix_path: str = Field(description='Instruction path: "2" top-level, "2.1" inner')
    slot: int
    block_time: int | None
    kind: str
    mint: str | None
    is_io: bool
    amount: Amount
    source: str
    destination: str
    source_owner: str | None
    destination_owner: str | None
    memo: str | None
    status: str = Field(description='"pending" (seen at confirmed) or "finalized"')
    failed: bool = Field(description="The transaction failed: the transfer never happened and never counts")
    counted: bool = Field(description="Counts toward paid_finalized: IO, not failed, finalized")


class PaymentByReference(BaseModel):
    """What a checkout page polls: the transfers naming a reference and the IO paid so far."""

    reference: str
    paid_finalized: Annotated[Amount, Field(description="IO paid: is_io, not failed, finalized")]
    paid_pending: Annotated[Amount, Field(description="IO seen at confirmed, not yet finalized (not counted)")]
    total: int = Field(description="Transfers naming the reference (all mints, failed included)")
    limit: int
    offset: int
    transfers: list[TransferOut]
