"""The node registry: who may create and edit a record, what is validated, and the status transitions
(draft -> registered | conflict) from the finalized NodeRegistered event, idempotent, on read and in the task."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.models.indexer import IndexerCursor, ProgramEvent
from backend.models.nodes import NodeRecord
from backend.nodes import onchain
from backend.nodes.tasks import sync_registry
from tests.backend.nodes import rows as R

T0 = 1_800_000_000


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.app.state.settings = Settings(program_id=R.PROGRAM, _env_file=None)  # type: ignore[attr-defined, call-arg]
    client.now = T0  # type: ignore[attr-defined]
    client.app.state.clock = lambda: client.now  # type: ignore[attr-defined]
    return client


def bearer(api: TestClient, kp: Keypair) -> dict[str, str]:
    c = api.post("/auth/challenge", json={"address": str(kp.pubkey())}).json()
    r = api.post(
        "/auth/verify", json={"message": c["message"], "signature": str(kp.sign_message(c["message"].encode()))}
    )
    return {"Authorization": f"Bearer {r.json()['token']}"}


def add_record(factory: sessionmaker[Session], operator: Keypair, gpu_units: int = 8, **kw: Any) -> NodeRecord:
    from solders.pubkey import Pubkey

    key = Keypair().pubkey()
    program = onchain.ProgramContext(Pubkey.from_string(R.PROGRAM), 8, None)
    rec = NodeRecord(
        node_key=str(key), node=str(program.client.node(key)), operator=str(operator.pubkey()), name="rig",
        gpu_model="A100", gpu_units=gpu_units, vram_gb=80, region="eu-west", description=None, commission_bps=500,
        status="draft", created_at=T0, updated_at=T0, **kw,
    )  # fmt: skip
    with factory.begin() as s:
        s.add(rec)
    return rec


def registered_on_chain(factory: sessionmaker[Session], rec: NodeRecord, operator: str, gpu_units: int) -> None:
    fields = {"node": rec.node, "operator": operator, "nodeKey": rec.node_key, "gpuUnits": gpu_units,
              "commissionBps": 500}  # fmt: skip
    with factory.begin() as s:
        s.add(ProgramEvent(**R.event("NodeRegistered", rec.node, 42, fields, T0)))
        s.merge(IndexerCursor(address=R.PROGRAM, last_slot=50, synced_slot=50))


class TestStatus:
    def test_draft_until_the_finalized_event_then_registered(self, api: TestClient, session_factory) -> None:
        op = Keypair()
        rec = add_record(session_factory, op)
        body = api.get(f"/nodes/{rec.node_key}/record").json()
        assert (body["status"], body["as_of_slot"], body["node"]) == ("draft", None, rec.node)
        registered_on_chain(session_factory, rec, str(op.pubkey()), 8)
        body = api.get(f"/nodes/{rec.node}/record").json()
        assert (body["status"], body["status_reason"], body["as_of_slot"]) == ("registered", None, 50)

    def test_a_pending_event_does_not_register(self, api: TestClient, session_factory) -> None:
        op = Keypair()
        rec = add_record(session_factory, op)
        ev = R.event(
            "NodeRegistered",
            rec.node,
            42,
            {
                "node": rec.node,
                "operator": str(op.pubkey()),
                "nodeKey": rec.node_key,
                "gpuUnits": 8,
                "commissionBps": 5,
            },
        )
        ev["status"] = "confirmed"  # fmt: skip
        with session_factory.begin() as s:
            s.add(ProgramEvent(**ev))
        assert api.get(f"/nodes/{rec.node}/record").json()["status"] == "draft"

    @pytest.mark.parametrize(
        ("other_operator", "gpu_units", "reasons"),
        [
            (True, 8, ["another operator"]),
            (False, 4, ["gpu_units differ: 4 on chain, 8 in the registry"]),
            (True, 4, ["another operator", "gpu_units differ"]),
        ],
    )
    def test_conflict_says_why(self, api: TestClient, session_factory, other_operator, gpu_units, reasons) -> None:
        op = Keypair()
        rec = add_record(session_factory, op)
        registered_on_chain(session_factory, rec, str(Keypair().pubkey() if other_operator else op.pubkey()), gpu_units)
        body = api.get(f"/nodes/{rec.node_key}/record").json()
        assert body["status"] == "conflict"
        for reason in reasons:
            assert reason in body["status_reason"]

    def test_the_task_is_idempotent(self, session_factory) -> None:
        op = Keypair()
        recs = [add_record(session_factory, op) for _ in range(3)]
        registered_on_chain(session_factory, recs[0], str(op.pubkey()), 8)
        registered_on_chain(session_factory, recs[1], str(op.pubkey()), 2)
        with session_factory.begin() as s:
            assert sync_registry(s, T0 + 1) == 2
        with session_factory.begin() as s:
            assert sync_registry(s, T0 + 2) == 0
            got = {r.node_key: (r.status, r.updated_at) for r in s.query(NodeRecord)}
        assert got[recs[0].node_key] == ("registered", T0 + 1)
        assert got[recs[1].node_key] == ("conflict", T0 + 1)
        assert got[recs[2].node_key] == ("draft", T0)


class TestWrites:
    def test_write_routes_need_a_signed_in_wallet(self, api: TestClient, session_factory) -> None:
        rec = add_record(session_factory, Keypair())
        for r in (api.post("/nodes", json={}), api.patch(f"/nodes/{rec.node}", json={"name": "x"})):
            assert r.status_code == 401 and r.json()["reason"] == "missing_credentials"
        from backend.auth import service

        with session_factory.begin() as s:
            key = service.create_api_key(s, "orchestrator", "svc", T0)
        r = api.patch(f"/nodes/{rec.node}", json={"name": "x"}, headers={"Authorization": f"Bearer {key.key}"})
        assert r.status_code == 403

    def test_patch_by_the_operator_only_and_the_gpu_model_change_time(self, api: TestClient, session_factory) -> None:
        op = Keypair()
        rec = add_record(session_factory, op)
        assert api.patch(f"/nodes/{rec.node}", json={"name": "x"}, headers=bearer(api, Keypair())).status_code == 403
        auth = bearer(api, op)
        api.now = T0 + 10  # type: ignore[attr-defined]
        r = api.patch(f"/nodes/{rec.node_key}", json={"name": "rig-2", "region": "us-east", "description": "2x"},
                      headers=auth)  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["name"], body["region"], body["description"], body["gpu_model_changed_at"]) == (
            "rig-2", "us-east", "2x", None,
        )  # fmt: skip
        api.now = T0 + 20  # type: ignore[attr-defined]
        body = api.patch(f"/nodes/{rec.node}", json={"gpu_model": "H100"}, headers=auth).json()
        assert (body["gpu_model"], body["gpu_model_changed_at"], body["updated_at"]) == ("H100", T0 + 20, T0 + 20)
        body = api.patch(f"/nodes/{rec.node}", json={"description": None}, headers=auth).json()
        assert body["description"] is None and body["gpu_model_changed_at"] == T0 + 20

    @pytest.mark.parametrize(
        "patch",
        [{"gpu_units": 2}, {"name": ""}, {"name": "x" * 65}, {"region": "bad\x00"}, {"gpu_model": "TPUv9"}],
    )
    def test_bad_patches_are_422(self, api: TestClient, session_factory, patch: dict) -> None:
        op = Keypair()
        rec = add_record(session_factory, op)
        r = api.patch(f"/nodes/{rec.node}", json=patch, headers=bearer(api, op))
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput", r.text
        if "gpu_model" in patch:
            assert "known: A100, H100, L40S, RTX3090, RTX4090" in r.json()["detail"]

    def test_unknown_records_are_404(self, api: TestClient) -> None:
        key = str(Keypair().pubkey())
        assert api.get(f"/nodes/{key}/record").status_code == 404
        assert api.patch(f"/nodes/{key}", json={"name": "x"}, headers=bearer(api, Keypair())).status_code == 404

    def test_create_validates_before_touching_the_chain(self, api: TestClient, session_factory) -> None:
        """Checks that need no cluster answer first (this app's RPC is unreachable: a later check would be 502)."""
        op = Keypair()
        auth = bearer(api, op)
        body = {"node_key": str(Keypair().pubkey()), "name": "rig", "gpu_model": "TPUv9", "gpu_units": 1,
                "vram_gb": 80, "region": "eu-west", "commission_bps": 100}  # fmt: skip
        r = api.post("/nodes", json=body, headers=auth)
        assert r.status_code == 422 and "known: A100, H100" in r.json()["detail"], r.text
        for bad in ({"gpu_units": 0}, {"commission_bps": 10_001}, {"node_key": "nope"}, {"extra": 1}):
            assert api.post("/nodes", json={**body, "gpu_model": "A100", **bad}, headers=auth).status_code == 422
        taken = add_record(session_factory, Keypair())
        r = api.post("/nodes", json={**body, "gpu_model": "A100", "node_key": taken.node_key}, headers=auth)
        assert r.status_code == 409 and "another operator" in r.json()["detail"]
        with session_factory() as s:
            assert s.query(NodeRecord).count() == 1  # nothing written by the refused requests


def test_known_gpu_models_follow_the_parameter_set(api: TestClient, session_factory) -> None:
    from backend.epochs import params

    doc = params.defaults(8)
    doc["gpu_multipliers_bps"] = {**doc["gpu_multipliers_bps"], "B200": 40_000}
    with session_factory.begin() as s:
        params.put(s, doc, T0)
    op = Keypair()
    rec = add_record(session_factory, op)
    r = api.patch(f"/nodes/{rec.node}", json={"gpu_model": "B200"}, headers=bearer(api, op))
    assert r.status_code == 200 and json.loads(r.text)["gpu_model"] == "B200"
