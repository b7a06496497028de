"""Routes: usage records from the job orchestrator (API key with role ``orchestrator``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from backend.auth.deps import ClockDep, Principal, require_role
from backend.deps import SessionDep
from backend.telemetry import service
from backend.telemetry.schemas import UsageBatchIn, UsageIn, UsageOut

router = APIRouter(prefix="/telemetry", tags=["telemetry"])


@router.post("/usage", response_model=UsageOut, summary="Record compute delivered (orchestrator API key)")
def post_usage(
    body: Annotated[UsageIn | UsageBatchIn, Body(description="One record, or {records: [...]} (up to 1,000)")],
    session: SessionDep,
    now: ClockDep,
    who: Annotated[Principal, Depends(require_role("orchestrator"))],
) -> UsageOut:
    """Idempotent on (job_id, period_start): a resent record is a `duplicate`, a changed one is `rejected`.

    One bad record never rejects the others; results are in input order.
    """
    records = body.records if isinstance(body, UsageBatchIn) else [body]
    return UsageOut(results=service.record_usage(session, records, who.key_id or "", now))
