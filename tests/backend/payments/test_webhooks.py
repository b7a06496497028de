"""Webhooks: a status change is POSTed signed (HMAC-SHA256 of the body under the key's secret), retried with
doubling backoff on the same bytes and event id, logged per attempt, and given up after the last attempt."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.chain import bootfile
from backend.chain.treasury import from_bootfile
from backend.config import Settings
from backend.db import session_scope
from backend.payments import invoices, webhooks
from indexer.store import write_batch
from tests.backend.payments.test_invoices_api import _transfer
from tests.backend.settlement.apiharness import T0, Api, synthetic_bootfile


class Receiver:
    """Answers the first ``fail`` POSTs with 500, then 204; records every (headers, body)."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.got: list[tuple[dict[str, str], bytes]] = []
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                rec.got.append(
                    (
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(int(self.headers["content-length"])),
                    )
                )
                self.send_response(500 if len(rec.got) <= rec.fail else 204)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def world(tmp_path: Path, db_url: str, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    boot = synthetic_bootfile(tmp_path / "boot.json")
    settings = Settings(database_url=db_url, data_dir=tmp_path, webhook_backoff_seconds=2, webhook_max_attempts=4,
                        _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    return {"boot": boot, "settings": settings, "treasury": from_bootfile(bootfile.load(tmp_path / "boot.json"))}


def _paid_invoice(world: dict[str, Any], factory: sessionmaker[Session], engine: Engine, url: str) -> str:
    api = Api(None, world["boot"], "")  # type: ignore[arg-type]  # only for _transfer's rows
    with session_scope(factory) as s:
        inv = invoices.create(
            s, world["settings"], world["treasury"], buyer="B" * 43, created_by="key:k1", api_key_id="k1", amount=10,
            currency="IO", description="", expires_in=600, callback_url=url, job_id=None, now=T0,
        )  # fmt: skip
        inv_id, ref = inv.id, inv.reference
    with engine.begin() as conn:
        write_batch(conn, [_transfer(api, ref, 10, "finalized", "SIG1")])
    with session_scope(factory) as s:
        result = invoices.refresh(s, world["treasury"], T0 + 1)
    assert result.changed == [(inv_id, "open", "paid")]
    return inv_id


def test_retries_with_backoff_then_delivers_the_same_signed_bytes(
    world: dict[str, Any], session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    rec = Receiver(fail=2)
    inv_id = _paid_invoice(world, session_factory, db_engine, rec.url)
    settings = world["settings"]
    t = T0 + 1
    assert webhooks.deliver_due(session_factory, settings, lambda: t) == 0  # 500
    assert webhooks.deliver_due(session_factory, settings, lambda: t + 1) == 0  # not due yet (2 s)
    assert len(rec.got) == 1
    assert webhooks.deliver_due(session_factory, settings, lambda: t + 2) == 0  # 500 again; next in 4 s
    assert webhooks.deliver_due(session_factory, settings, lambda: t + 5) == 0 and len(rec.got) == 2
    assert webhooks.deliver_due(session_factory, settings, lambda: t + 6) == 1
    assert webhooks.deliver_due(session_factory, settings, lambda: t + 100) == 0 and len(rec.got) == 3
    bodies = {body for _, body in rec.got}
    assert len(bodies) == 1
    body = bodies.pop()
    doc = json.loads(body)
    assert (
        doc["data"]["status"] == "paid"
        and doc["data"]["previous_status"] == "open"
        and doc["data"]["invoice"] == inv_id
    )
    with session_scope(session_factory) as s:
        secret = webhooks.secret_for(s, settings, "k1", T0)
        ((ev, attempts),) = webhooks.log_for(s, inv_id)
        assert (ev.state, ev.attempts) == ("delivered", 3)
        assert [a.status_code for a in attempts] == [500, 500, 204]
    for headers, raw in rec.got:
        assert webhooks.verify(secret, raw, headers["x-iog-signature"])
        assert headers["x-iog-event-id"] == doc["id"]
    assert not webhooks.verify(secret, raw + b" ", rec.got[0][0]["x-iog-signature"])
    rec.server.shutdown()


def test_gives_up_after_the_last_attempt(
    world: dict[str, Any], session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    rec = Receiver(fail=100)
    inv_id = _paid_invoice(world, session_factory, db_engine, rec.url)
    for dt in (0, 2, 6, 14, 30, 62):
        webhooks.deliver_due(session_factory, world["settings"], lambda dt=dt: T0 + 1 + dt)
    assert len(rec.got) == 4
    with session_scope(session_factory) as s:
        ((ev, attempts),) = webhooks.log_for(s, inv_id)
        assert (ev.state, len(attempts)) == ("failed", 4) and "HTTP 500" in (ev.last_error or "")
    rec.server.shutdown()


def test_an_unreachable_receiver_is_an_attempt_not_a_crash(
    world: dict[str, Any], session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    inv_id = _paid_invoice(world, session_factory, db_engine, "http://127.0.0.1:9/nothing-listens")
    assert webhooks.deliver_due(session_factory, world["settings"], lambda: T0 + 1) == 0
    with session_scope(session_factory) as s:
        ((ev, attempts),) = webhooks.log_for(s, inv_id)
        assert ev.state == "pending" and attempts[0].status_code is None and attempts[0].error


def test_the_master_key_file_is_private(world: dict[str, Any], tmp_path: Path) -> None:
    webhooks.master_key(world["settings"])
    path = webhooks.master_key_path(world["settings"])
    assert path.stat().st_mode & 0o777 == 0o600
