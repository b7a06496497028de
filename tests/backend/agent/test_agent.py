"""The agent's GPU report (nvidia-smi or --simulate) and its loop: backing off on errors, answering challenges."""

from __future__ import annotations

import subprocess
import threading
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from backend.agent import gpus
from backend.agent.runner import Agent
from backend.errors import InvalidInput


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("NVIDIA A100-SXM4-80GB", "A100"),
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA GeForce RTX 4090", "RTX4090"),
        ("NVIDIA GeForce RTX 3090", "RTX3090"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla T4", "Tesla T4"),
    ],
)
def test_nvidia_names_map_to_models(name: str, model: str) -> None:
    assert gpus.normalize(name) == model


def fake_smi(stdout: str, code: int = 0) -> Any:
    def run(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        assert args[1:] == ["--query-gpu=name", "--format=csv,noheader"]
        return subprocess.CompletedProcess(args, code, stdout, "boom" if code else "")

    return run


class TestDetect:
    def test_counts_the_gpus(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(gpus.shutil, "which", lambda _: "/usr/bin/nvidia-smi")
        out = "NVIDIA A100-SXM4-80GB\n" * 8
        assert gpus.detect(fake_smi(out)) == ("A100", 8)

    def test_without_nvidia_smi_is_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(gpus.shutil, "which", lambda _: None)
        assert gpus.detect() is None

    @pytest.mark.parametrize(("out", "code"), [("", 0), ("x", 9), ("NVIDIA A100\nNVIDIA H100\n", 0)])
    def test_refuses_what_it_cannot_report(self, monkeypatch: pytest.MonkeyPatch, out: str, code: int) -> None:
        monkeypatch.setattr(gpus.shutil, "which", lambda _: "/usr/bin/nvidia-smi")
        with pytest.raises(InvalidInput):
            gpus.detect(fake_smi(out, code))


@pytest.mark.parametrize("spec", ["A100", "A100:0", "A100:x", ":8", "A100:70000", "A/100:8", "A" * 33 + ":1"])
def test_bad_simulate_specs(spec: str) -> None:
    with pytest.raises(InvalidInput):
        gpus.parse_simulate(spec)


def test_simulate_spec() -> None:
    assert gpus.parse_simulate("RTX4090:4") == ("RTX4090", 4)


def test_the_loop_backs_off_and_recovers() -> None:
    """The API is down twice (connection refused, then a 503), then answers: the agent keeps going, waiting
    longer after each failure, and answers the challenge it was handed in its next heartbeat."""
    calls: list[dict[str, Any]] = []
    waits: list[float] = []
    stop = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        calls.append(json.loads(request.content)["heartbeats"][0]["payload"])
        n = len(calls)
        if n == 1:
            raise httpx.ConnectError("refused")
        if n == 2:
            return httpx.Response(503)
        if n == 3:
            offer = {"id": "ab", "nonce": "00" * 16, "difficulty": 4, "deadline": 0}
            return httpx.Response(200, json={"results": [{"status": "accepted", "challenge": offer}]})
        if n >= 5:
            stop.set()
        return httpx.Response(200, json={"results": [{"status": "accepted", "challenge_result": "passed"}]})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api")
    agent = Agent(Keypair(), http, "A100", 8)
    real_wait = stop.wait

    def wait(delay: float) -> bool:
        waits.append(delay)
        return real_wait(0)

    stop.wait = wait  # type: ignore[method-assign]
    agent.run(10.0, stop)
    assert len(calls) == 5
    assert 10 <= waits[0] <= 20 and 20 <= waits[1] <= 40  # exponential back-off with jitter
    assert waits[2:] == [10.0, 10.0, 10.0]
    assert "challenge" not in calls[2] and calls[3]["challenge"]["id"] == "ab"  # answered in the next one
    assert "challenge" not in calls[4]  # the result came back: not sent again
    assert [c["seq"] for c in calls] == sorted({c["seq"] for c in calls})  # strictly increasing
