"""Delegator marketplace: node_stats (one row per node, rebuilt by backend.nodes.tasks.refresh_node_stats).

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None

KEY = 48
INDEXES = {
    "ix_node_stats_score": ["score", "node"],
    "ix_node_stats_apy": ["apy_key", "node"],
    "ix_node_stats_commission": ["commission_key", "node"],
    "ix_node_stats_capacity": ["capacity_left", "node"],
    "ix_node_stats_stake": ["total_stake", "node"],
    "ix_node_stats_uptime": ["uptime_key", "node"],
    "ix_node_stats_gpu_model": ["gpu_model", "region"],
    "ix_node_stats_region": ["region"],
}


def upgrade() -> None:
    op.create_table(
        "node_stats",
        sa.Column("node", sa.String(KEY), primary_key=True),
        sa.Column("node_key", sa.String(KEY), nullable=True),
        sa.Column("operator", sa.String(KEY), nullable=True),
        sa.Column("name", sa.String(64), nullable=True),
        sa.Column("gpu_model", sa.String(32), nullable=True),
        sa.Column("vram_gb", sa.Integer(), nullable=True),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("record_status", sa.String(16), nullable=True),
        sa.Column("gpu_units", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=True),
        sa.Column("total_stake", Money(), nullable=False),
        sa.Column("operator_stake", Money(), nullable=False),
        sa.Column("delegated_stake", Money(), nullable=False),
        sa.Column("unbonding_stake", Money(), nullable=False),
        sa.Column("min_operator_stake", Money(), nullable=True),
        sa.Column("capacity_left", Money(), nullable=False),
        sa.Column("commission_bps", sa.Integer(), nullable=True),
        sa.Column("pending_commission_bps", sa.Integer(), nullable=True),
        sa.Column("commission_effective_at", sa.BigInteger(), nullable=True),
        sa.Column("commission_key", sa.Integer(), nullable=False),
        sa.Column("slash_count", sa.Integer(), nullable=False),
        sa.Column("slashed_total", Money(), nullable=False),
        sa.Column("last_slash_reason", sa.BigInteger(), nullable=True),
        sa.Column("last_slash_slot", sa.BigInteger(), nullable=True),
        sa.Column("last_slash_at", sa.BigInteger(), nullable=True),
        sa.Column("delegator_count", sa.Integer(), nullable=False),
        sa.Column("uptime_24h_bps", sa.Integer(), nullable=True),
        sa.Column("uptime_7d_bps", sa.Integer(), nullable=True),
        sa.Column("uptime_30d_bps", sa.Integer(), nullable=True),
        sa.Column("uptime_key", sa.Integer(), nullable=False),
        sa.Column("compute_7d_gpu_seconds", sa.BigInteger(), nullable=True),
        sa.Column("rewards_24_epochs", Money(), nullable=True),
        sa.Column("estimated_apy_bps", sa.Integer(), nullable=True),
        sa.Column("apy_key", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("ineligible_reasons", sa.String(128), nullable=False),
        sa.Column("score_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("commission_component", sa.Integer(), nullable=False),
        sa.Column("uptime_component", sa.Integer(), nullable=False),
        sa.Column("age_component", sa.Integer(), nullable=False),
        sa.Column("compute_component", sa.Integer(), nullable=False),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
    )
    for name, cols in INDEXES.items():
        op.create_index(name, "node_stats", cols)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "node_stats")
    op.drop_table("node_stats")
