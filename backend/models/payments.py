"""Invoices, the transfers seen for them, and their webhooks (events, delivery attempts, per-key secrets)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Money
from backend.models.indexer import KEY, PATH, SIG

#: Invoice statuses.
OPEN, SEEN, PAID, PARTIALLY_PAID, OVERPAID, EXPIRED = "open", "seen", "paid", "partially_paid", "overpaid", "expired"
STATUSES = (OPEN, SEEN, PAID, PARTIALLY_PAID, OVERPAID, EXPIRED)


class Invoice(Base):
    """What a buyer is asked to pay: an amount of one currency to the treasury, naming a fresh reference key.

    ``status`` and ``flags`` are the last values the settlement pass saw (they drive webhooks); the API computes
    them afresh from the indexed transfers on every read.
    """

    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_buyer_created", "buyer", "created_at"), Index("ix_invoices_status", "status"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    buyer: Mapped[str] = mapped_column(String(KEY))
    #: ``wallet:<address>`` or ``key:<api key id>``: who created it (a key's invoices sign webhooks with its secret).
    created_by: Mapped[str] = mapped_column(String(80))
    api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    currency: Mapped[str] = mapped_column(String(8))
    mint: Mapped[str] = mapped_column(String(KEY))
    recipient: Mapped[str] = mapped_column(String(KEY))  # the treasury owner wallet (Solana Pay recipient)
    destination: Mapped[str] = mapped_column(String(KEY))  # the treasury token account of the mint
    amount: Mapped[int] = mapped_column(Money)
    fee_bps: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(KEY), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    job_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    flags: Mapped[str] = mapped_column(String(64), default="")  # comma-separated: late, wrong_mint
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class InvoicePayment(Base):
    """A transfer naming an invoice's reference, as the settlement pass last saw it (``status`` of the indexed
    row, ``outcome`` from the validator); drives the pass, never money (the ledger is)."""

    __tablename__ = "invoice_payments"
    __table_args__ = (Index("ix_invoice_payments_invoice", "invoice_id"),)

    signature: Mapped[str] = mapped_column(String(SIG), primary_key=True)
    ix_path: Mapped[str] = mapped_column(String(PATH), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(40), ForeignKey("invoices.id"))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    booked: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookSecret(Base):
    """The salt of an API key's webhook secret. The secret itself is never stored: it is HMAC-SHA256 of the salt
    under the master key file (``IOG_WEBHOOK_MASTER_KEY_FILE``), so the database alone does not reveal it."""

    __tablename__ = "webhook_secrets"

    api_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)


class WebhookEvent(Base):
    """One status change of an invoice, to be POSTed to its callback URL (retried with backoff)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_due", "state", "next_attempt_at"),
        Index("ix_webhook_events_invoice", "invoice_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(40), ForeignKey("invoices.id"))
    api_key_id: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    type: Mapped[str] = mapped_column(String(48))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    delivered_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookAttempt(Base):
    """One delivery attempt of a webhook event: the delivery log of an invoice."""

    __tablename__ = "webhook_attempts"

    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("webhook_events.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
