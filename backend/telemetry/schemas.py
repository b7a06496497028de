"""Bodies of the telemetry routes."""

from __future__ import annotations

from typing import Any, Literal

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


class HeartbeatsIn(BaseModel):
    heartbeats: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=(
            "Signed heartbeats `{payload, signature}`: payload `{node, seq, ts, gpu_model, gpu_units, challenge?}` "
            "(node = the node key, base58; seq and ts integers; challenge = `{id, solution}` answering an earlier "
            "challenge), signature = base58 ed25519 by the node key over `iog-heartbeat/1\\n` + the canonical "
            "JSON of payload (sorted keys, no spaces, UTF-8). Each item is checked on its own."
        ),
    )


class ChallengeOffer(BaseModel):
    id: str
    nonce: str = Field(description="hex; find x with sha256(nonce || node key || x) having `difficulty` zero bits")
    difficulty: int = Field(description="Leading zero bits")
    deadline: int = Field(description="Unix time the answer must arrive by")


class HeartbeatResult(BaseModel):
    status: Literal["accepted", "rejected"]
    reason: str | None = Field(
        None,
        description="unknown_node, inactive_node, bad_signature, replayed_seq, clock_skew, gpu_mismatch, "
        "rate_limited or malformed",
    )
    challenge: ChallengeOffer | None = Field(None, description="A challenge to answer in a later heartbeat")
    challenge_result: str | None = Field(
        None, description="The outcome of the answer this heartbeat carried: passed, failed, expired, unknown"
    )


class HeartbeatsOut(BaseModel):
    results: list[HeartbeatResult] = Field(description="One result per heartbeat, in input order")
