"""Shared pieces of the epoch tests: settings, a wrong puzzle solver, agents driven minute by minute."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi.testclient import TestClient

from backend.agent.runner import Agent
from backend.config import Settings
from backend.telemetry.challenges import PuzzleVerifier

G = 1_800_000_000  # genesis, on a minute
EPOCH = 300  # 5-minute epochs
GRACE = 60
#: The reward parameters the tests use: short epochs need a short continuous-uptime minimum.
PARAMS = {
    "community_bps": 500,
    "compute_share_bps": 3000,
    "min_uptime_bps": 6000,
    "min_continuous_uptime_seconds": 120,
    "min_stake_per_gpu": "1000",
    "gpu_multipliers_bps": {"A100": 10000, "H100": 25000, "RTX4090": 4000},
}


def settings(db_url: str, **kw: Any) -> Settings:
    base = {"database_url": db_url, "epoch_genesis": G, "epoch_seconds": EPOCH, "epoch_grace_seconds": GRACE,
            "challenge_difficulty_bits": 4, "_env_file": None}  # fmt: skip
    return Settings(**{**base, **kw})


def wrong_solver(nonce: str, difficulty: int, node_key: str) -> str:
    """A solution that does not solve the puzzle (the node that fails its challenge)."""
    v = PuzzleVerifier(0)
    return next(
        x.to_bytes(8, "big").hex()
        for x in range(10_000)
        if not v.check(nonce, difficulty, node_key, x.to_bytes(8, "big").hex())
    )


def drive(
    client: TestClient, agents: dict[str, Agent], minutes: Iterable[int], up: Callable[[str, int], bool]
) -> dict[str, list[dict[str, Any]]]:
    """Each minute, every agent that is ``up(name, minute)`` sends one heartbeat at 7 s past the minute (the API's
    clock is set to the same time). Returns each agent's results."""
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in agents}
    for minute in minutes:
        now = G + 60 * minute + 7
        client.app.state.clock = lambda now=now: now  # type: ignore[attr-defined]
        for name, agent in agents.items():
            if up(name, minute):
                results[name].append(agent.heartbeat(now))
    return results
