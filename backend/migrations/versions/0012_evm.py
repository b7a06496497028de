"""EVM rail: payment logs, block hashes, cursors, outbound transactions.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None

HASH, ADDR, U256 = 66, 42, 78


def upgrade() -> None:
    op.create_table(
        "evm_payment_logs",
        sa.Column("chain_id", sa.BigInteger(), primary_key=True),
        sa.Column("tx_hash", sa.String(HASH), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(HASH), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("contract", sa.String(ADDR), nullable=False),
        sa.Column("invoice_id", sa.String(HASH), nullable=True),
        sa.Column("payer", sa.String(ADDR), nullable=False),
        sa.Column("recipient", sa.String(ADDR), nullable=False),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("amount_raw", sa.String(U256), nullable=False),
        sa.Column("via_router", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_evm_payment_logs_invoice", "evm_payment_logs", ["chain_id", "contract", "invoice_id"])
    op.create_index("ix_evm_payment_logs_block", "evm_payment_logs", ["chain_id", "block_number"])
    op.create_table(
        "evm_blocks",
        sa.Column("watch", sa.String(160), primary_key=True),
        sa.Column("number", sa.BigInteger(), primary_key=True),
        sa.Column("hash", sa.String(HASH), nullable=False),
        sa.Column("has_logs", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "evm_cursors",
        sa.Column("watch", sa.String(160), primary_key=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(HASH), nullable=True),
        sa.Column("log_count", sa.BigInteger(), nullable=False),
        sa.Column("reorgs", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "evm_outbound_txs",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(ADDR), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("to", sa.String(ADDR), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("gas", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.String(HASH), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("chain_id", "sender", "nonce", name="uq_evm_outbound_txs_nonce"),
    )
    op.create_table(
        "evm_tx_attempts",
        sa.Column("tx_hash", sa.String(HASH), primary_key=True),
        sa.Column(
            "key",
            sa.String(128),
            sa.ForeignKey("evm_outbound_txs.key", name="fk_evm_tx_attempts_key_evm_outbound_txs"),
            nullable=False,
        ),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("max_fee_per_gas", sa.String(U256), nullable=False),
        sa.Column("max_priority_fee_per_gas", sa.String(U256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_evm_tx_attempts_key", "evm_tx_attempts", ["key"])


def downgrade() -> None:
    op.drop_index("ix_evm_tx_attempts_key", "evm_tx_attempts")
    op.drop_table("evm_tx_attempts")
    op.drop_table("evm_outbound_txs")
    op.drop_table("evm_cursors")
    op.drop_table("evm_blocks")
    op.drop_index("ix_evm_payment_logs_block", "evm_payment_logs")
    op.drop_index("ix_evm_payment_logs_invoice", "evm_payment_logs")
    op.drop_table("evm_payment_logs")
