"""Response models of the operations API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CursorOut(BaseModel):
    """The indexer's progress on one watched address."""

    address: str
    last_signature: str | None = Field(description="Newest finalized signature whose history is fully stored")
    last_slot: int = Field(description="Slot of last_signature")
    synced_slot: int = Field(description="Finalized slot the last complete pass covered (lag = finalized - this)")
    rows: int = Field(description="Stored transfers into/out of the address, or events of the program at it")
    updated_at: int = Field(description="Unix time of the last cursor write")
    last_error: str | None
    last_error_at: int | None


class IndexerStatus(BaseModel):
    """Per-address cursors and overall row counts."""

    addresses: list[CursorOut]
    transactions: int
    pending_transactions: int = Field(description="Transactions seen at confirmed, not yet finalized")
    failed_transactions: int
