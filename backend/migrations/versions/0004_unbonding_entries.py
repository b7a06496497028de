"""Unbonding entries and incremental projections.

- ``stake_unbonding_entries``: the entries of each stake position (the program keeps up to 8 per position).
- ``program_events.projected``: set once the projections reflect a finalized event (each is applied once).
- ``staking_nodes.applied_*``: the key of the last event applied to a node's row.

The projection tables are emptied: they were computed before entries existed, and every finalized event is
unprojected now, so the indexer's next pass rebuilds them from the stored events (``iog indexer reconcile
--repair`` does it at once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SIG = 96
KEY = 48
PROJECTIONS = ("staking_nodes", "stake_positions", "distributor_roots", "reward_claims")


def upgrade() -> None:
    with op.batch_alter_table("program_events") as batch:
        batch.add_column(sa.Column("projected", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_program_events_projection", ["projected", "status"])
    with op.batch_alter_table("staking_nodes") as batch:
        batch.add_column(sa.Column("applied_slot", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("applied_signature", sa.String(SIG), nullable=True))
        batch.add_column(sa.Column("applied_event_index", sa.Integer(), nullable=True))
    op.create_table(
        "stake_unbonding_entries",
        sa.Column("node", sa.String(KEY), primary_key=True),
        sa.Column("owner", sa.String(KEY), primary_key=True),
        sa.Column("signature", sa.String(SIG), primary_key=True),
        sa.Column("event_index", sa.Integer(), primary_key=True),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("shares", Money(), nullable=False),
        sa.Column("value", Money(), nullable=False),
        sa.Column("unlock_time", sa.BigInteger(), nullable=False),
    )
    for table in PROJECTIONS:
        op.execute(sa.text(f"DELETE FROM {table}"))


def downgrade() -> None:
    op.drop_table("stake_unbonding_entries")
    with op.batch_alter_table("staking_nodes") as batch:
        batch.drop_column("applied_event_index")
        batch.drop_column("applied_signature")
        batch.drop_column("applied_slot")
    with op.batch_alter_table("program_events") as batch:
        batch.drop_index("ix_program_events_projection")
        batch.drop_column("projected")
    # the earlier projections are rebuilt by `iog indexer reconcile --repair`
    for table in PROJECTIONS:
        op.execute(sa.text(f"DELETE FROM {table}"))
