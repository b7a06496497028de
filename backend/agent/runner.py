"""The agent loop: sign and send a heartbeat every interval, answer challenges, back off on errors.

Each heartbeat's ``seq`` is the larger of the last one plus one and the current time in milliseconds, so it keeps
increasing across restarts without any state on disk. A challenge handed out in an answer is solved at once and
its solution rides on the next heartbeat (and on every later one until the server reports its result).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from solders.keypair import Keypair

from backend.telemetry.challenges import solve_puzzle
from backend.telemetry.heartbeats import sign

log = logging.getLogger("iog.agent")

Solver = Callable[[str, int, str], str]  # (nonce, difficulty, node key) -> solution hex


class Agent:
    """A node agent. ``http`` is an httpx client whose base URL is the API (any httpx.Client, e.g. a TestClient)."""

    def __init__(
        self,
        keypair: Keypair,
        http: httpx.Client,
        gpu_model: str,
        gpu_units: int,
        solver: Solver = solve_puzzle,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keypair = keypair
        self.key = str(keypair.pubkey())
        self.http = http
        self.gpu_model = gpu_model
        self.gpu_units = gpu_units
        self.solver = solver
        self.clock = clock
        self.seq = 0
        self.answer: dict[str, str] | None = None
        self.counts: dict[str, int] = {}

    def heartbeat(self, now: float | None = None) -> dict[str, Any]:
        """Send one heartbeat; return the server's result for it (raises httpx errors on transport failures)."""
        t = self.clock() if now is None else now
        self.seq = max(self.seq + 1, int(t * 1000))
        payload: dict[str, Any] = {
            "node": self.key,
            "seq": self.seq,
            "ts": int(t),
            "gpu_model": self.gpu_model,
            "gpu_units": self.gpu_units,
        }
        if self.answer is not None:
            payload["challenge"] = self.answer
        r = self.http.post("/telemetry/heartbeats", json={"heartbeats": [sign(self.keypair, payload)]})
        r.raise_for_status()
        result: dict[str, Any] = r.json()["results"][0]
        outcome = result.get("reason") or result["status"]
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if result["status"] != "accepted":
            log.warning("heartbeat seq %d rejected: %s", self.seq, result.get("reason"))
            return result
        if "challenge_result" in result:
            log.info("challenge %s: %s", (self.answer or {}).get("id"), result["challenge_result"])
            self.answer = None
        offer = result.get("challenge")
        if offer and (self.answer is None or self.answer["id"] != offer["id"]):
            started = time.monotonic()
            solution = self.solver(offer["nonce"], int(offer["difficulty"]), self.key)
            self.answer = {"id": offer["id"], "solution": solution}
            log.info("challenge %s (difficulty %s) solved in %.2f s", offer["id"], offer["difficulty"],
                     time.monotonic() - started)  # fmt: skip
        return result

    def run(self, interval: float, stop: threading.Event | None = None, max_backoff: float = 60.0) -> None:
        """Heartbeat every ``interval`` seconds until ``stop`` is set; on errors back off exponentially (with
        jitter, up to ``max_backoff``) and keep trying."""
        stop = stop or threading.Event()
        failures = 0
        while not stop.is_set():
            try:
                self.heartbeat()
                failures = 0
                delay = interval
            except (httpx.HTTPError, ValueError, KeyError) as exc:  # transport, 5xx, a garbled answer
                failures += 1
                delay = min(max_backoff, interval * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
                log.warning("heartbeat failed (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
            stop.wait(delay)
