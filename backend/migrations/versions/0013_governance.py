"""Governance of the grants DAO (issue 14): proposals, stake snapshots, signed ballots.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from backend.models.base import Money

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY = 48
SIG = 96


def upgrade() -> None:
    op.create_table(
        "governance_proposals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("proposer", sa.String(KEY), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("grant_recipient", sa.String(KEY), nullable=True),
        sa.Column("grant_amount", Money(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("snapshot_slot", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_total", Money(), nullable=False),
        sa.Column("quorum_bps", sa.Integer(), nullable=False),
        sa.Column("threshold_bps", sa.Integer(), nullable=False),
        sa.Column("hold_up_seconds", sa.BigInteger(), nullable=False),
        sa.Column("voting_starts_at", sa.BigInteger(), nullable=False),
        sa.Column("voting_ends_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_hash", sa.String(64), nullable=True),
        sa.Column("tallied_at", sa.BigInteger(), nullable=True),
        sa.Column("memo_status", sa.String(16), nullable=True),
        sa.Column("memo_signature", sa.String(SIG), nullable=True),
        sa.Column("memo_raw", sa.Text(), nullable=True),
        sa.Column("memo_last_valid_block_height", sa.BigInteger(), nullable=True),
        sa.Column("memo_slot", sa.BigInteger(), nullable=True),
        sa.Column("payout_id", sa.String(40), nullable=True),
        sa.Column("execution_note", sa.Text(), nullable=True),
        sa.Column("executed_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_governance_proposals_state", "governance_proposals", ["state"])
    op.create_table(
        "governance_snapshot",
        sa.Column(
            "proposal_id",
            sa.String(40),
            sa.ForeignKey("governance_proposals.id", name="fk_governance_snapshot_proposal_id_governance_proposals"),
            primary_key=True,
        ),
        sa.Column("wallet", sa.String(KEY), primary_key=True),
        sa.Column("stake", Money(), nullable=False),
        sa.Column("bonded_at_close", Money(), nullable=True),
        sa.Column("weight", Money(), nullable=True),
    )
    op.create_table(
        "governance_ballots",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "proposal_id",
            sa.String(40),
            sa.ForeignKey("governance_proposals.id", name="fk_governance_ballots_proposal_id_governance_proposals"),
            nullable=False,
        ),
        sa.Column("voter", sa.String(KEY), nullable=False),
        sa.Column("choice", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(SIG), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("replaced", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("proposal_id", "voter", "nonce", name="uq_governance_ballots_nonce"),
        sa.UniqueConstraint("signature", name="uq_governance_ballots_signature"),
    )
    op.create_index("ix_governance_ballots_proposal", "governance_ballots", ["proposal_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_governance_ballots_proposal", table_name="governance_ballots")
    op.drop_table("governance_ballots")
    op.drop_table("governance_snapshot")
    op.drop_index("ix_governance_proposals_state", table_name="governance_proposals")
    op.drop_table("governance_proposals")
