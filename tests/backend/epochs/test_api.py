"""Epoch routes over a database the runner filled (no chain): the list, one epoch, the exact stored bytes, a
node's epochs by account or device key, a wallet's rewards before any root is posted; errors."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from backend.models.epochs import Epoch, EpochDocument
from tests.backend.epochs.helpers import EPOCH, GRACE, G, drive


def closed(db_world: dict[str, Any]) -> Any:
    db_world["runner"].open_current(G)
    drive(db_world["client"], db_world["agents"], range(0, 11), lambda n, m: not (n == "flaky" and m < 3))
    db_world["runner"].tick(G + 2 * EPOCH + GRACE)
    return db_world["client"]


def test_epochs_list_and_detail(db_world: dict[str, Any], session_factory: sessionmaker[Session]) -> None:
    client = closed(db_world)
    page = client.get("/epochs").json()
    assert [e["epoch"] for e in page["items"]] == [2, 1, 0] and page["total"] == 3
    e0 = client.get("/epochs/0").json()
    with session_factory() as s:
        row = s.get(Epoch, 0)
        assert row is not None
    assert (e0["state"], e0["inputs_sha256"], e0["merkle_root"]) == ("computed", row.inputs_sha256, row.merkle_root)
    assert e0["payouts_total"] == str(row.payouts_total) and e0["signature"] is None
    assert int(e0["emission"]) == int(e0["community"]) + int(e0["payouts_total"]) + int(e0["unallocated"])
    assert client.get("/epochs/2").json()["state"] == "open"


def test_input_and_output_are_the_exact_stored_bytes(
    db_world: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    client = closed(db_world)
    with session_factory() as s:
        row = s.get(Epoch, 1)
        doc = s.get(EpochDocument, (1, row.inputs_sha256))  # type: ignore[union-attr]
        assert doc is not None
    for which, data in (("input", doc.input), ("output", doc.output)):
        r = client.get(f"/epochs/1/{which}")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == "application/json"
    assert orjson.loads(doc.output)["inputs_sha256"] == row.inputs_sha256  # type: ignore[union-attr]


def test_missing_and_malformed(db_world: dict[str, Any]) -> None:
    client = closed(db_world)
    for path in ("/epochs/99", "/epochs/2/input", "/epochs/99/output"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["error"] == "NotFound", path
    assert client.get("/epochs/-1").status_code == 422
    r = client.get("/nodes/not-a-key/epochs")
    assert r.status_code == 422 and r.json()["detail"].startswith("node:")
    r = client.get("/wallets/xyz/rewards")
    assert r.status_code == 422 and r.json()["detail"].startswith("wallet:")


def test_node_epochs_by_account_or_device_key(db_world: dict[str, Any]) -> None:
    client = closed(db_world)
    healthy, flaky, failing = db_world["nodes"]
    by_account = client.get(f"/nodes/{flaky.node}/epochs").json()
    assert by_account == client.get(f"/nodes/{flaky.key}/epochs").json()
    assert [i["epoch"] for i in by_account["items"]] == [1, 0]
    e1, e0 = by_account["items"]
    assert e0["reasons"] == ["uptime_below_minimum"] and e0["reward"] == "0" and e0["uptime_seconds"] == 120
    assert e1["reasons"] == [] and int(e1["reward"]) > 0
    assert client.get(f"/nodes/{failing.node}/epochs").json()["items"][0]["reasons"] == ["not_verified"]
    assert client.get(f"/nodes/{healthy.node}/epochs", params={"limit": 1}).json()["total"] == 2


def test_wallet_rewards_before_any_root_is_posted(db_world: dict[str, Any]) -> None:
    client = closed(db_world)
    healthy = db_world["nodes"][0]
    r = client.get(f"/wallets/{healthy.operator}/rewards").json()
    assert (r["epoch"], r["lifetime_total"], r["claimable"], r["proof"]) == (None, "0", "0", None)
    assert r["computed_epoch"] == 1 and int(r["computed_total"]) > 0
