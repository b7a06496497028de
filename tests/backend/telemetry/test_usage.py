"""POST /telemetry/usage: orchestrator API key only, idempotent per (job, period start), one bad item alone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import service as auth
from backend.telemetry import service

NODE = str(Keypair().pubkey())


@pytest.fixture
def keys(session_factory: sessionmaker[Session]) -> dict[str, str]:
    with session_factory() as s:
        orch = auth.create_api_key(s, "orchestrator", "orch", 0).key
        admin = auth.create_api_key(s, "admin", "ops", 0).key
        s.commit()
    return {"orchestrator": orch, "admin": admin}


def rec(**kw: Any) -> dict[str, Any]:
    return {"job_id": "job-1", "node": NODE, "gpu_seconds": 3600, "period_start": 1000, "period_end": 1900, **kw}


def post(client: TestClient, key: str, body: Any) -> Any:
    return client.post("/telemetry/usage", json=body, headers={"Authorization": f"Bearer {key}"})


def test_records_once_and_a_resend_is_a_duplicate(
    client: TestClient, keys: dict[str, str], db_session: Session
) -> None:
    assert post(client, keys["orchestrator"], rec()).json() == {"results": [{"status": "recorded", "reason": None}]}
    assert post(client, keys["orchestrator"], rec()).json()["results"][0]["status"] == "duplicate"
    changed = post(client, keys["orchestrator"], rec(gpu_seconds=1)).json()["results"][0]
    assert changed["status"] == "rejected" and changed["reason"].startswith("conflict")
    rows = service.usage_records(db_session, job_id="job-1")
    assert [(r.gpu_seconds, r.node) for r in rows] == [(3600, NODE)]
    assert service.gpu_seconds_by_node(db_session, 0, 2000) == {NODE: 3600}


def test_a_batch_keeps_input_order_and_one_bad_item_alone(client: TestClient, keys: dict[str, str]) -> None:
    body = {
        "records": [
            rec(period_start=0, period_end=60),
            rec(node="not-a-key"),
            rec(period_start=100, period_end=100),
            rec(period_start=200, period_end=201, gpu_seconds=65_536),
            rec(period_start=0, period_end=60),  # the same record twice in one batch
            rec(period_start=60, period_end=120, gpu_seconds=10),
        ]
    }
    got = [r["status"] for r in post(client, keys["orchestrator"], body).json()["results"]]
    assert got == ["recorded", "rejected", "rejected", "rejected", "duplicate", "recorded"]


def test_only_an_orchestrator_key(client: TestClient, keys: dict[str, str]) -> None:
    assert client.post("/telemetry/usage", json=rec()).status_code == 401
    assert post(client, keys["admin"], rec()).status_code == 403
    assert post(client, "iogk_forged", rec()).status_code == 401


@pytest.mark.parametrize("bad", [rec(gpu_seconds=-1), rec(period_start=-5), {"records": []}, rec(job_id="")])
def test_malformed_bodies_are_422(client: TestClient, keys: dict[str, str], bad: Any) -> None:
    assert post(client, keys["orchestrator"], bad).status_code == 422
