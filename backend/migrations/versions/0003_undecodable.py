"""Keep undecodable transactions: decode_error and the raw response on indexed_transactions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indexed_transactions") as batch:
        batch.add_column(sa.Column("decode_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("raw", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indexed_transactions") as batch:
        batch.drop_column("raw")
        batch.drop_column("decode_error")
