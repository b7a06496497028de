"""Usage records: compute delivered per job and period.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("period_start", sa.BigInteger(), primary_key=True),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(48), nullable=False),
        sa.Column("gpu_seconds", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
    )
    op.create_index("ix_usage_records_node_period", "usage_records", ["node", "period_start"])


def downgrade() -> None:
    op.drop_index("ix_usage_records_node_period", "usage_records")
    op.drop_table("usage_records")
