"""Bodies of the telemetry routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

MAX_BATCH = 1000


class UsageIn(BaseModel):
    job_id: str = Field(min_length=1, max_length=128, description="The orchestrator's job id")
    node: str = Field(description="The node's device key (base58), as in its heartbeats")
    gpu_seconds: int = Field(ge=0, description="GPU-seconds delivered in the period (all GPUs of the job summed)")
    period_start: int = Field(ge=0, description="Unix seconds, inclusive")
    period_end: int = Field(ge=0, description="Unix seconds, exclusive; after period_start")


class UsageBatchIn(BaseModel):
    records: list[UsageIn] = Field(min_length=1, max_length=MAX_BATCH)


class UsageResult(BaseModel):
    status: Literal["recorded", "duplicate", "rejected"]
    reason: str | None = Field(None, description="Why a record was rejected (conflict, malformed, implausible)")


class UsageOut(BaseModel):
    results: list[UsageResult] = Field(description="One result per record, in input order")
