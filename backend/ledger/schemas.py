"""Response models of /ledger. Amounts are decimal strings of base units."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CurrencyCheckOut(BaseModel):
    currency: str
    treasury_account: str = Field(description="The treasury's token account of the currency")
    as_of_slot: int | None = Field(description="The indexer's finalized slot the comparison is made at")
    as_of_block: int | None = Field(
        None, description="USDC-EVM: the EVM indexer's confirmed head the comparison is made at (balanceOf there)"
    )
    book_treasury: str | None = Field(description="Book treasury from entries at or below as_of_slot")
    chain_treasury: str | None = Field(description="The token account's balance on chain at as_of_slot")
    unbooked_transfers: int
    treasury: str = Field(description="Book treasury (every entry)")
    liabilities: str
    income: str = Field(description="fees + burn_pending")
    equity: str


class CheckOut(BaseModel):
    ok: bool
    differences: list[str]
    warnings: list[str]
    notes: list[str] = Field(default_factory=list, description="What was not checked and why (not a failure)")
    entries: int
    postings: int
    currencies: list[CurrencyCheckOut]


class BalanceOut(BaseModel):
    account: str
    currency: str
    kind: str
    balance: str


class BalancesOut(BaseModel):
    owner: str | None
    balances: list[BalanceOut]
