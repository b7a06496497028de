"""Payments, the double-entry ledger and settlement: invoices and webhooks, ledger accounts/entries/postings with
database-enforced balance, jobs and usage charges, treasury transactions, payouts, refunds and burns.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KEY = 48
SIG = 96
PATH = 16

# The ledger's guarantees, the same on both databases (see backend/models/ledger.py): an entry row seals postings
# written before it and is refused unless they are >= 2 and sum to zero per currency; a posting for an entry that
# exists is refused; postings and entries are never updated or deleted.
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER ledger_entries_seal BEFORE INSERT ON ledger_entries
    WHEN (SELECT COUNT(*) FROM ledger_postings WHERE entry_id = NEW.id) < 2
      OR EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id GROUP BY currency HAVING SUM(amount) <> 0)
    BEGIN
      SELECT RAISE(ABORT, 'ledger entry does not balance (or has fewer than two postings)');
    END
    """,
    """
    CREATE TRIGGER ledger_postings_sealed BEFORE INSERT ON ledger_postings
    WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
    BEGIN
      SELECT RAISE(ABORT, 'ledger entry is sealed: postings cannot be added to it');
    END
    """,
    """
    CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
    BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END
    """,
    """
    CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
    BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END
    """,
    """
    CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END
    """,
    """
    CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END
    """,
]

POSTGRES_TRIGGERS = [
    """
    CREATE FUNCTION ledger_entry_seal() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT count(*) FROM ledger_postings WHERE entry_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'ledger entry % has fewer than two postings', NEW.id USING ERRCODE = 'check_violation';
      END IF;
      IF EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id GROUP BY currency HAVING sum(amount) <> 0) THEN
        RAISE EXCEPTION 'ledger entry % does not balance', NEW.id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION ledger_posting_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'ledger entry % is sealed: postings cannot be added to it', NEW.entry_id
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is immutable (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'check_violation';
    END $$
    """,
    "CREATE TRIGGER ledger_entries_seal BEFORE INSERT ON ledger_entries FOR EACH ROW "
    "EXECUTE FUNCTION ledger_entry_seal()",
    "CREATE TRIGGER ledger_postings_sealed BEFORE INSERT ON ledger_postings FOR EACH ROW "
    "EXECUTE FUNCTION ledger_posting_sealed()",
    "CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings FOR EACH ROW "
    "EXECUTE FUNCTION ledger_immutable()",
    "CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW "
    "EXECUTE FUNCTION ledger_immutable()",
    # TRUNCATE skips row triggers; refuse it too.
    "CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable()",
    "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable()",
]


def _ledger() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("name", "currency", name="uq_ledger_accounts_name_currency"),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        sa.CheckConstraint("kind IN ('asset', 'liability', 'income', 'equity')", name="kind"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("cause_id", sa.String(160), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("signature", sa.String(SIG), nullable=True),
        sa.Column("ix_path", sa.String(PATH), nullable=True),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("reverses", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("signature", "ix_path", name="uq_ledger_entries_signature_ix_path"),
    )
    op.create_index("ix_ledger_entries_cause", "ledger_entries", ["cause", "cause_id"])
    op.create_index("ix_ledger_entries_slot", "ledger_entries", ["slot"])
    op.create_table(
        "ledger_postings",
        sa.Column(
            "entry_id",
            sa.BigInteger(),
            sa.ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ),
        sa.CheckConstraint("amount <> 0", name="nonzero"),
    )
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["account_id"])
    for ddl in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(ddl)


def _payments() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("buyer", sa.String(KEY), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("api_key_id", sa.String(32), nullable=True),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("mint", sa.String(KEY), nullable=False),
        sa.Column("recipient", sa.String(KEY), nullable=False),
        sa.Column("destination", sa.String(KEY), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(KEY), nullable=False, unique=True),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flags", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_invoices_buyer_created", "invoices", ["buyer", "created_at"])
    op.create_index("ix_invoices_status", "invoices", ["status"])
    op.create_table(
        "invoice_payments",
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("ix_path", sa.String(PATH), primary_key=True),
        sa.Column("invoice_id", sa.String(40), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_invoice_payments_invoice", "invoice_payments", ["invoice_id"])
    op.create_table(
        "webhook_secrets",
        sa.Column("api_key_id", sa.String(32), primary_key=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("invoice_id", sa.String(40), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("api_key_id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_webhook_events_due", "webhook_events", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_events_invoice", "webhook_events", ["invoice_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("event_id", sa.String(40), sa.ForeignKey("webhook_events.id"), primary_key=True),
        sa.Column("attempt", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )


def _settlement() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("buyer", sa.String(KEY), nullable=False),
        sa.Column("node", sa.String(KEY), nullable=False),
        sa.Column("operator", sa.String(KEY), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("price_per_gpu_hour", Money(), nullable=False),
        sa.Column("gpu_units", sa.Integer(), nullable=False),
        sa.Column("budget", Money(), nullable=False),
        sa.Column("buyer_fee_bps", sa.Integer(), nullable=False),
        sa.Column("provider_fee_bps", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_jobs_buyer", "jobs", ["buyer"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "usage_charges",
        sa.Column("job_id", sa.String(128), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("period_start", sa.BigInteger(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("gpu_seconds", sa.BigInteger(), nullable=False),
        sa.Column("billed_seconds", sa.BigInteger(), nullable=False),
        sa.Column("compute", Money(), nullable=False),
        sa.Column("buyer_fee", Money(), nullable=False),
        sa.Column("provider_fee", Money(), nullable=False),
        sa.Column("total_seconds", sa.BigInteger(), nullable=False),
        sa.Column("total_compute", Money(), nullable=False),
        sa.Column("total_buyer_fee", Money(), nullable=False),
        sa.Column("total_provider_fee", Money(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("charged_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_usage_charges_job_seq", "usage_charges", ["job_id", "seq"], unique=True)
    op.create_table(
        "settlement_txs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(SIG), nullable=False, unique=True),
        sa.Column("blockhash", sa.String(64), nullable=False),
        sa.Column("last_valid_block_height", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_settlement_txs_status", "settlement_txs", ["status"])
    op.create_table(
        "settlement_transfers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("owner", sa.String(KEY), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("mint", sa.String(KEY), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("destination", sa.String(KEY), nullable=False),
        sa.Column("reference", sa.String(KEY), nullable=False, unique=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_id", sa.String(40), sa.ForeignKey("settlement_txs.id"), nullable=True),
        sa.Column("signature", sa.String(SIG), nullable=True),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_settlement_transfers_status", "settlement_transfers", ["status"])
    op.create_index("ix_settlement_transfers_owner", "settlement_transfers", ["owner"])
    op.create_table(
        "burns",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("mint", sa.String(KEY), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_id", sa.String(40), sa.ForeignKey("settlement_txs.id"), nullable=True),
        sa.Column("signature", sa.String(SIG), nullable=True),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )


def upgrade() -> None:
    # The settlement pass reads the indexer's transfers above a slot watermark.
    op.create_index("ix_token_transfers_slot", "token_transfers", ["slot"])
    _ledger()
    _payments()
    _settlement()


def downgrade() -> None:
    for table in (
        "burns",
        "settlement_transfers",
        "settlement_txs",
        "usage_charges",
        "jobs",
        "webhook_attempts",
        "webhook_events",
        "webhook_secrets",
        "invoice_payments",
        "invoices",
        "ledger_postings",
        "ledger_entries",
        "ledger_accounts",
    ):
        op.drop_table(table)
    op.drop_index("ix_token_transfers_slot", "token_transfers")
    if op.get_bind().dialect.name == "postgresql":
        for fn in ("ledger_entry_seal", "ledger_posting_sealed", "ledger_immutable"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
