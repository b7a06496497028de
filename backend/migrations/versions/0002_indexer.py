"""Indexer tables: transactions, token transfers, references, program events, cursors, projections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SIG = 96
KEY = 48
PATH = 16


def upgrade() -> None:
    op.create_table(
        "indexed_transactions",
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("err", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_indexed_transactions_slot", "indexed_transactions", ["slot"])
    op.create_index("ix_indexed_transactions_status", "indexed_transactions", ["status"])
    op.create_table(
        "token_transfers",
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("ix_path", sa.String(PATH), primary_key=True),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("mint", sa.String(KEY), nullable=True),
        sa.Column("is_io", sa.Boolean(), nullable=False),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("amount_raw", sa.String(20), nullable=False),
        sa.Column("source", sa.String(KEY), nullable=False),
        sa.Column("destination", sa.String(KEY), nullable=False),
        sa.Column("source_owner", sa.String(KEY), nullable=True),
        sa.Column("destination_owner", sa.String(KEY), nullable=True),
        sa.Column("authority", sa.String(KEY), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_token_transfers_source", "token_transfers", ["source"])
    op.create_index("ix_token_transfers_destination", "token_transfers", ["destination"])
    op.create_table(
        "transfer_references",
        sa.Column("reference", sa.String(KEY), primary_key=True),
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("ix_path", sa.String(PATH), primary_key=True),
    )
    op.create_table(
        "program_events",
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("ix_path", sa.String(PATH), primary_key=True),
        sa.Column("event_index", sa.Integer(), primary_key=True),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("program_id", sa.String(KEY), nullable=False),
        sa.Column("name", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(KEY), nullable=True),
        sa.Column("owner", sa.String(KEY), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_program_events_subject", "program_events", ["subject"])
    op.create_index("ix_program_events_name_slot", "program_events", ["name", "slot"])
    op.create_table(
        "indexer_cursors",
        sa.Column("address", sa.String(KEY), primary_key=True),
        sa.Column("last_signature", sa.String(SIG), nullable=True),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
        sa.Column("tx_count", sa.BigInteger(), nullable=False),
        sa.Column("synced_slot", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "staking_nodes",
        sa.Column("node", sa.String(KEY), primary_key=True),
        sa.Column("operator", sa.String(KEY), nullable=True),
        sa.Column("commission_bps", sa.Integer(), nullable=True),
        sa.Column("pending_commission_bps", sa.Integer(), nullable=True),
        sa.Column("commission_effective_at", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("total_stake", Money(), nullable=False),
        sa.Column("total_shares", Money(), nullable=False),
        sa.Column("unbonding_stake", Money(), nullable=False),
        sa.Column("unbonding_shares", Money(), nullable=False),
        sa.Column("slashed_total", Money(), nullable=False),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "stake_positions",
        sa.Column("node", sa.String(KEY), primary_key=True),
        sa.Column("owner", sa.String(KEY), primary_key=True),
        sa.Column("shares", Money(), nullable=False),
        sa.Column("unbonding_shares", Money(), nullable=False),
        sa.Column("bonded", Money(), nullable=False),
        sa.Column("unbonding", Money(), nullable=False),
        sa.Column("unlock_time", sa.BigInteger(), nullable=True),
        sa.Column("withdrawn", Money(), nullable=False),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "distributor_roots",
        sa.Column("epoch", sa.BigInteger(), primary_key=True),
        sa.Column("root", sa.String(128), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("signature", sa.String(SIG), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "reward_claims",
        sa.Column("wallet", sa.String(KEY), primary_key=True),
        sa.Column("claimed_total", Money(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "reward_claims",
        "distributor_roots",
        "stake_positions",
        "staking_nodes",
        "indexer_cursors",
        "program_events",
        "transfer_references",
        "token_transfers",
        "indexed_transactions",
    ):
        op.drop_table(table)
