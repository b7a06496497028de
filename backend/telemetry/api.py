"""Routes: signed heartbeats from node agents (no token: each item is signed by its node key) and usage records
from the job orchestrator (API key with role ``orchestrator``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from backend.auth.deps import ClockDep, Principal, clock, require_role
from backend.db import session_scope
from backend.deps import SessionDep
from backend.telemetry import service
from backend.telemetry.recorder import HeartbeatRules, record_heartbeats
from backend.telemetry.schemas import HeartbeatsIn, HeartbeatsOut, UsageBatchIn, UsageIn, UsageOut

router = APIRouter(prefix="/telemetry", tags=["telemetry"])


@router.post("/heartbeats", response_model=HeartbeatsOut, summary="Signed heartbeats from node agents (up to 1,000)")
async def post_heartbeats(body: HeartbeatsIn, request: Request) -> Response:
    """Each item is `accepted` or `rejected` with a reason; one bad item never rejects the others.

    An accepted heartbeat counts its minute as up. The answer may hand out a verification challenge, to be
    answered in a later heartbeat (`payload.challenge = {id, solution}`) before its deadline.
    """
    rules = HeartbeatRules.from_settings(request.app.state.settings)
    now = clock(request)

    def work() -> list[dict[str, Any]]:
        with session_scope(request.app.state.sessionmaker) as session:
            return record_heartbeats(session, rules, body.heartbeats, now)

    # One hop to a worker thread for the whole unit of work (the session and clock dependencies of a sync route
    # cost three more hops per request: py-spy showed the thread hand-offs as the largest cost of a single
    # heartbeat). The transaction is owned here, as the session dependency would own it.
    results = await run_in_threadpool(work)
    # Serialized here (documented by response_model): skipping FastAPI's re-validation of up to 1,000 results.
    return Response(orjson.dumps({"results": results}), media_type="application/json")


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
