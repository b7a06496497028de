"""Node registry and versioned reward parameter sets.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = 48


def upgrade() -> None:
    op.create_table(
        "node_records",
        sa.Column("node_key", sa.String(KEY), primary_key=True),
        sa.Column("node", sa.String(KEY), nullable=False),
        sa.Column("operator", sa.String(KEY), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("gpu_model", sa.String(32), nullable=False),
        sa.Column("gpu_units", sa.Integer(), nullable=False),
        sa.Column("vram_gb", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("commission_bps", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("gpu_model_changed_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_node_records_operator", "node_records", ["operator"])
    op.create_index("ix_node_records_node", "node_records", ["node"])
    op.create_table(
        "reward_param_sets",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reward_param_sets")
    op.drop_index("ix_node_records_node", "node_records")
    op.drop_index("ix_node_records_operator", "node_records")
    op.drop_table("node_records")
