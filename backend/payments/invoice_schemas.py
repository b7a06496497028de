"""Request and response models of /invoices and /webhooks. Amounts are decimal strings of base units."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[str, Field(description="Base units as a decimal string", examples=["1250000000"])]


class InvoiceIn(BaseModel):
    """A new invoice."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Literal["IO", "USDC", "USDC-EVM"] = Field(
        description="IO or USDC on Solana; USDC-EVM: USDC on the EVM chain, paid through the payment router"
    )
    description: str = Field("", max_length=200, description="Shown to the payer (the Solana Pay message)")
    expires_in: int | None = Field(None, description="Seconds until it expires (default 900)")
    callback_url: str | None = Field(
        None, max_length=2048, description="http(s) URL receiving signed status-change webhooks (API keys only)"
    )
    job: str | None = Field(None, max_length=128, description="The job this invoice funds (informational)")
    buyer: str | None = Field(
        None, description="The buyer's wallet: required for an orchestrator key; a signed-in buyer is the buyer"
    )


class PaymentInstructionsOut(BaseModel):
    """USDC-EVM: call ``pay(invoice_id, amount)`` on ``router`` (after ``approve(router, amount)`` on ``token``)."""

    chain_id: int
    router: str
    token: str
    invoice_id: str = Field(description="bytes32 as 0x + 64 hex: what the router's Paid log names")
    amount: Amount


class Eip681LinksOut(BaseModel):
    """USDC-EVM: the two EIP-681 calls a wallet signs, in order."""

    approve: str
    pay: str


class InvoiceTransferOut(BaseModel):
    """A transfer naming the invoice's reference, with the validator's verdict (USDC-EVM: a router payment; the
    signature is its transaction hash, ix_path its log index, slot its block)."""

    signature: str
    ix_path: str
    slot: int
    block_time: int | None
    mint: str | None
    amount: Amount
    source_owner: str | None
    status: str = Field(description='"pending" (seen at confirmed) or "finalized"')
    outcome: str = Field(description="credit | wrong_mint | failed | not_to_treasury")
    late: bool


class InvoiceOut(BaseModel):
    """An invoice with its live status."""

    id: str
    reference: str = Field(
        description="The Solana Pay reference key the payment must name (USDC-EVM: the bytes32 invoice id)"
    )
    recipient: str = Field(description="The treasury wallet (Solana Pay recipient; USDC-EVM: the treasury address)")
    destination: str = Field(description="The treasury's token account of the mint (USDC-EVM: the treasury address)")
    mint: str
    currency: str
    amount: Amount
    fee_bps: int = Field(description="Fee on this payment (USDC 2%, IO 0% by default), taken when it is booked")
    buyer: str
    description: str
    job: str | None
    solana_pay_url: str | None = Field(
        description="Transfer request: solana:<recipient>?amount=<UI units>&spl-token=... (null for USDC-EVM)"
    )
    transaction_request_url: str | None = Field(
        description="Transaction request: solana:<https URL of /tx/pay-invoice> (null for USDC-EVM)"
    )
    payment_instructions: PaymentInstructionsOut | None = Field(None, description="USDC-EVM only")
    eip681_url: str | None = Field(
        None, description="USDC-EVM: the EIP-681 URL of the router's pay call (after the approve link)"
    )
    eip681_links: Eip681LinksOut | None = Field(None, description="USDC-EVM: approve, then pay")
    created_at: int
    expires_at: int
    status: str = Field(description="open | seen | paid | partially_paid | overpaid | expired")
    flags: list[str] = Field(description="late (credited after expiry), wrong_mint (another mint, refundable)")
    paid: Amount = Field(description="Finalized credits")
    pending: Amount = Field(description="Credits seen at confirmed, not finalized yet (never counted as money)")
    excess: Amount = Field(description="Finalized credits above the amount (on the buyer's balance)")
    as_of_slot: int | None = Field(description="The finalized slot the indexer has read the treasury through")
    as_of_block: int | None = Field(
        None, description="USDC-EVM: the newest block the EVM indexer verified (null: not read yet, not unpaid)"
    )
    confirmations_required: int | None = Field(None, description="USDC-EVM: confirmations that make a payment money")
    transfers: list[InvoiceTransferOut]


class InvoiceList(BaseModel):
    """A page of a buyer's invoices."""

    buyer: str
    limit: int
    offset: int
    as_of_slot: int | None
    invoices: list[InvoiceOut]


class AttemptOut(BaseModel):
    attempt: int
    at: int
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookEventOut(BaseModel):
    id: str
    type: str
    url: str
    state: str = Field(description="pending | delivered | failed")
    attempts: int
    next_attempt_at: int
    created_at: int
    delivered_at: int | None
    last_error: str | None
    body: str = Field(description="The exact bytes POSTed (and signed)")
    log: list[AttemptOut]


class WebhookLog(BaseModel):
    invoice: str
    events: list[WebhookEventOut]


class WebhookSecretOut(BaseModel):
    api_key_id: str
    secret: str = Field(description="HMAC-SHA256 key of X-Iog-Signature (sha256=<hex of the body's HMAC>)")
    algorithm: Literal["HMAC-SHA256"] = "HMAC-SHA256"
