"""Heartbeat state, uptime bitmaps, challenges; epochs with their stored documents and node results.

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None

KEY = 48
SIG = 96


def upgrade() -> None:
    op.create_table(
        "node_telemetry",
        sa.Column("node_key", sa.String(KEY), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_received_at", sa.BigInteger(), nullable=False),
        sa.Column("last_minute", sa.BigInteger(), nullable=False),
        sa.Column("streak_minutes", sa.BigInteger(), nullable=False),
        sa.Column("gpu_model", sa.String(32), nullable=False),
        sa.Column("gpu_units", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("minutes", sa.LargeBinary(), nullable=False),
        sa.Column("up_minutes", sa.Integer(), nullable=False),
        sa.Column("ch_id", sa.String(32), nullable=True),
        sa.Column("ch_epoch", sa.BigInteger(), nullable=True),
        sa.Column("ch_issue_at", sa.BigInteger(), nullable=True),
        sa.Column("ch_status", sa.String(16), nullable=True),
        sa.Column("ch_nonce", sa.String(128), nullable=True),
        sa.Column("ch_difficulty", sa.Integer(), nullable=True),
        sa.Column("ch_issued_at", sa.BigInteger(), nullable=True),
        sa.Column("ch_deadline", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "epoch_uptime",
        sa.Column("node_key", sa.String(KEY), primary_key=True),
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("minutes", sa.LargeBinary(), nullable=False),
        sa.Column("up_minutes", sa.Integer(), nullable=False),
        sa.Column("last_minute", sa.BigInteger(), nullable=False),
        sa.Column("streak_minutes", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_epoch_uptime_epoch", "epoch_uptime", ["epoch"])
    op.create_table(
        "challenges",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("node_key", sa.String(KEY), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("issue_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verifier", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=True),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_challenges_epoch_node", "challenges", ["epoch", "node_key"])
    op.create_table(
        "epochs",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=False),
        sa.Column("params_version", sa.Integer(), nullable=True),
        sa.Column("as_of_slot", sa.BigInteger(), nullable=True),
        sa.Column("inputs_sha256", sa.String(64), nullable=True),
        sa.Column("merkle_root", sa.String(64), nullable=True),
        sa.Column("emission", Money(), nullable=True),
        sa.Column("community", Money(), nullable=True),
        sa.Column("unallocated", Money(), nullable=True),
        sa.Column("payouts_total", Money(), nullable=True),
        sa.Column("cumulative_total", Money(), nullable=True),
        sa.Column("nodes", sa.Integer(), nullable=True),
        sa.Column("eligible_nodes", sa.Integer(), nullable=True),
        sa.Column("posted_in", sa.BigInteger(), nullable=True),
        sa.Column("post_signature", sa.String(SIG), nullable=True),
        sa.Column("post_tx", sa.LargeBinary(), nullable=True),
        sa.Column("post_last_valid_block_height", sa.BigInteger(), nullable=True),
        sa.Column("post_funding", Money(), nullable=True),
        sa.Column("post_community", Money(), nullable=True),
        sa.Column("community_account", sa.String(KEY), nullable=True),
        sa.Column("post_attempts", sa.Integer(), nullable=False),
        sa.Column("posted_slot", sa.BigInteger(), nullable=True),
        sa.Column("finalized_slot", sa.BigInteger(), nullable=True),
        sa.Column("closing_at", sa.BigInteger(), nullable=True),
        sa.Column("computed_at", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.BigInteger(), nullable=True),
        sa.Column("finalized_at", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_epochs_state", "epochs", ["state"])
    op.create_table(
        "epoch_documents",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("inputs_sha256", sa.String(64), primary_key=True),
        sa.Column("input", sa.LargeBinary(), nullable=False),
        sa.Column("output", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "epoch_nodes",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("node", sa.String(KEY), primary_key=True),
        sa.Column("node_key", sa.String(KEY), nullable=True),
        sa.Column("operator", sa.String(KEY), nullable=False),
        sa.Column("gpu_model", sa.String(32), nullable=False),
        sa.Column("gpu_units", sa.Integer(), nullable=False),
        sa.Column("uptime_seconds", sa.BigInteger(), nullable=False),
        sa.Column("continuous_uptime_seconds", sa.BigInteger(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("slashed", sa.Boolean(), nullable=False),
        sa.Column("compute_gpu_seconds", sa.BigInteger(), nullable=False),
        sa.Column("total_stake", Money(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.String(256), nullable=False),
        sa.Column("reward", Money(), nullable=False),
        sa.Column("availability_reward", Money(), nullable=False),
        sa.Column("compute_reward", Money(), nullable=False),
        sa.Column("operator_commission", Money(), nullable=False),
    )
    op.create_index("ix_epoch_nodes_node_key_epoch", "epoch_nodes", ["node_key", "epoch"])


def downgrade() -> None:
    op.drop_index("ix_epoch_nodes_node_key_epoch", "epoch_nodes")
    op.drop_table("epoch_nodes")
    op.drop_table("epoch_documents")
    op.drop_index("ix_epochs_state", "epochs")
    op.drop_table("epochs")
    op.drop_index("ix_challenges_epoch_node", "challenges")
    op.drop_table("challenges")
    op.drop_index("ix_epoch_uptime_epoch", "epoch_uptime")
    op.drop_table("epoch_uptime")
    op.drop_table("node_telemetry")
