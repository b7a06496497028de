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
    counted: bool = Field(
        description="Counts toward paid_finalized: of `mint`, into `token_account` (the recipient's), not failed, "
        "finalized"
    )
    reason: str | None = Field(
        None,
        description='Why it does not count (null when it counts): "failed", "wrong_mint", "wrong_destination" (a '
        'refund out of the recipient\'s account, a transfer to another wallet) or "pending" (the right payment, '
        "seen at confirmed: in paid_pending until finalized)",
        examples=["wrong_destination"],
    )


class PaymentByReference(BaseModel):
    """What a checkout page polls: the transfers naming a reference and what reached the recipient so far."""

    reference: str
    paid_finalized: Annotated[
        Amount, Field(description="Paid: transfers of `mint` into `token_account`, not failed, finalized")
    ]
    paid_pending: Annotated[
        Amount, Field(description="The same seen at confirmed, not yet finalized (shown, not counted as paid)")
    ]
    total: int = Field(description="Transfers naming the reference (all mints and destinations, failed included)")
    limit: int
    offset: int
    transfers: list[TransferOut]
    recipient: str = Field(description="The wallet the payment is for (default: the treasury wallet)")
    mint: str = Field(description="The token it must be paid in (default: the IO mint)")
    token_account: str = Field(description="The recipient's associated token account of `mint`: where it must arrive")
    not_counted: dict[str, int] = Field(
        description="Transfers naming the reference that do not count, by reason (all pages)",
        examples=[{"wrong_destination": 1}],
    )
    as_of_slot: int | None = Field(
        description="Finalized slot through which the indexer has read `token_account`: a transfer finalized at or "
        "before it is in this answer, so 'not paid' is final up to it. Null when the indexer has not read that "
        "account (see `note`)"
    )
    note: str | None = Field(None, description="Why as_of_slot is null: the account is not watched or not read yet")
