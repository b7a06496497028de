"""Webhooks: every status change of an invoice with a ``callback_url`` is POSTed there, signed, retried with
exponential backoff, logged per attempt.

- Body: canonical JSON ``{"id": "evt_...", "type": "invoice.status_changed", "created_at", "data": {...}}``; the
  receiver de-duplicates on ``id`` (also sent as ``X-Iog-Event-Id``): a retry sends the same bytes.
- ``X-Iog-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes under the secret of the API key that
  created the invoice.
- Secrets: one per API key, ``whsec_<hex>`` = HMAC-SHA256(master key, "iog-webhook:<key id>:<salt>"). Only the
  random salt is stored (``webhook_secrets``); the master key is a file (``IOG_WEBHOOK_MASTER_KEY_FILE``, default
  ``$IOG_DATA_DIR/keys/webhook-master.key``, created 0600). The database alone does not reveal a secret, the key
  file alone neither; rotating a key's secret replaces its salt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.errors import InvalidInput
from backend.models.payments import Invoice, WebhookAttempt, WebhookEvent, WebhookSecret

SIGNATURE_HEADER = "X-Iog-Signature"
EVENT_ID_HEADER = "X-Iog-Event-Id"
EVENT_TYPE_HEADER = "X-Iog-Event-Type"
STATUS_CHANGED = "invoice.status_changed"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_BACKOFF = 3_600


def master_key_path(settings: Settings) -> Path:
    """Where the webhook master key lives."""
    return settings.webhook_master_key_file or settings.data_dir / "keys" / "webhook-master.key"


def master_key(settings: Settings) -> bytes:
    """The master key (32 random bytes, hex in the file), created with mode 0600 on first use."""
    path = master_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InvalidInput(f"{path} is not a hex webhook master key") from None
    if len(key) < 16:
        raise InvalidInput(f"{path} holds fewer than 16 bytes")
    return key


def _derive(settings: Settings, api_key_id: str, salt: str) -> str:
    mac = hmac.new(master_key(settings), f"iog-webhook:{api_key_id}:{salt}".encode(), hashlib.sha256)
    return "whsec_" + mac.hexdigest()


def secret_for(session: Session, settings: Settings, api_key_id: str, now: int) -> str:
    """The webhook secret of an API key (its salt is created on first use)."""
    row = session.get(WebhookSecret, api_key_id)
    if row is None:
        row = WebhookSecret(api_key_id=api_key_id, salt=secrets.token_hex(16), created_at=now)
        session.add(row)
        session.flush()
    return _derive(settings, api_key_id, row.salt)


def rotate(session: Session, settings: Settings, api_key_id: str, now: int) -> str:
    """Give an API key a new webhook secret (events not yet delivered are signed with the new one)."""
    row = session.get(WebhookSecret, api_key_id)
    if row is None:
        return secret_for(session, settings, api_key_id, now)
    row.salt, row.created_at = secrets.token_hex(16), now
    session.flush()
    return _derive(settings, api_key_id, row.salt)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Iog-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: constant-time comparison of the signature header with the body's HMAC."""
    return hmac.compare_digest(sign(secret, body), header)


def canonical(doc: dict[str, Any]) -> str:
    """The exact body text (sorted keys, no spaces)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def enqueue_invoice_event(session: Session, inv: Invoice, previous: str, state: Any, now: int) -> WebhookEvent | None:
    """Queue a status-change event for an invoice with a callback URL (none otherwise)."""
    if not inv.callback_url or not inv.api_key_id:
        return None
    event_id = "evt_" + secrets.token_hex(12)
    doc = {
        "id": event_id,
        "type": STATUS_CHANGED,
        "created_at": now,
        "data": {
            "invoice": inv.id,
            "status": state.status,
            "previous_status": previous,
            "flags": list(state.flags),
            "currency": inv.currency,
            "amount": str(inv.amount),
            "paid": str(state.paid),
            "pending": str(state.pending),
            "reference": inv.reference,
            "buyer": inv.buyer,
            "job": inv.job_id,
        },
    }
    ev = WebhookEvent(
        id=event_id,
        invoice_id=inv.id,
        api_key_id=inv.api_key_id,
        url=inv.callback_url,
        type=STATUS_CHANGED,
        body=canonical(doc),
        state=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(ev)
    return ev


def backoff(settings: Settings, attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones (doubling, at most an hour)."""
    return int(min(MAX_BACKOFF, settings.webhook_backoff_seconds * 2 ** (attempts - 1)))


def deliver_due(
    factory: sessionmaker[Session],
    settings: Settings,
    clock: Callable[[], float] = time.time,
    client: httpx.Client | None = None,
    limit: int = 50,
) -> int:
    """POST every event that is due; record each attempt; returns how many were delivered."""
    now = int(clock())
    with session_scope(factory) as session:
        due = (
            session.execute(
                select(WebhookEvent.id)
                .where(WebhookEvent.state == PENDING, WebhookEvent.next_attempt_at <= now)
                .order_by(WebhookEvent.next_attempt_at, WebhookEvent.created_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    if not due:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    delivered = 0
    try:
        for event_id in due:
            delivered += _deliver_one(factory, settings, http, event_id, clock)
    finally:
        if own:
            http.close()
    return delivered


def _deliver_one(
    factory: sessionmaker[Session], settings: Settings, http: httpx.Client, event_id: str, clock: Callable[[], float]
) -> int:
    with session_scope(factory) as session:
        ev = session.get(WebhookEvent, event_id)
        if ev is None or ev.state != PENDING:
            return 0
        secret = secret_for(session, settings, ev.api_key_id, int(clock()))
        body, url = ev.body.encode(), ev.url
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            EVENT_ID_HEADER: ev.id,
            EVENT_TYPE_HEADER: ev.type,
            "user-agent": "iog-webhooks/1",
        }
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        resp = http.post(url, content=body, headers=headers, timeout=settings.webhook_timeout_seconds)
        status_code = resp.status_code
        if not 200 <= resp.status_code < 300:
            error = f"HTTP {resp.status_code}: {resp.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    took = int((time.monotonic() - started) * 1000)
    now = int(clock())
    with session_scope(factory) as session:
        ev = session.get(WebhookEvent, event_id)
        assert ev is not None
        ev.attempts += 1
        session.add(
            WebhookAttempt(
                event_id=ev.id, attempt=ev.attempts, at=now, status_code=status_code, error=error, duration_ms=took
            )
        )
        if error is None:
            ev.state, ev.delivered_at, ev.last_error = DELIVERED, now, None
            return 1
        ev.last_error = error
        if ev.attempts >= settings.webhook_max_attempts:
            ev.state = FAILED
        else:
            ev.next_attempt_at = now + backoff(settings, ev.attempts)
    return 0


def log_for(session: Session, invoice_id: str) -> list[tuple[WebhookEvent, list[WebhookAttempt]]]:
    """The delivery log of an invoice: its events (oldest first) with their attempts."""
    events = list(
        session.execute(
            select(WebhookEvent).where(WebhookEvent.invoice_id == invoice_id).order_by(WebhookEvent.created_at)
        ).scalars()
    )
    out = []
    for ev in events:
        attempts = list(
            session.execute(
                select(WebhookAttempt).where(WebhookAttempt.event_id == ev.id).order_by(WebhookAttempt.attempt)
            ).scalars()
        )
        out.append((ev, attempts))
    return out
