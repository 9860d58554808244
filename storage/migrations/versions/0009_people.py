"""Staged uploads (a file previewed in the console, kept until confirmed) and call outcomes
(what an interviewer recorded when a call led to no interview).

Revision ID: 0009_people
Revises: 0008_campaigns
Create Date: 2026-11-30

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_people"
down_revision: str | None = "0008_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _fk(name: str, target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(target, name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "staged_uploads",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "staff_session_id",
            _id(),
            _fk("fk_staged_uploads_staff_session_id_staff_sessions", "staff_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_staged_uploads_token_hash"),
    )
    op.create_index("ix_staged_uploads_expires_at", "staged_uploads", ["expires_at"])
    op.create_index("ix_staged_uploads_staff_session_id", "staged_uploads", ["staff_session_id"])

    op.create_table(
        "call_outcomes",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "respondent_id",
            _id(),
            _fk("fk_call_outcomes_respondent_id_respondents", "respondents.id"),
            nullable=False,
        ),
        sa.Column(
            "campaign_member_id",
            _id(),
            _fk("fk_call_outcomes_campaign_member_id_campaign_members", "campaign_members.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("interviewer", sa.String(200), nullable=False),
        sa.Column("at", _time(), nullable=False),
    )
    op.create_index("ix_call_outcomes_respondent_id_at", "call_outcomes", ["respondent_id", "at"])
    op.create_index("ix_call_outcomes_campaign_member_id", "call_outcomes", ["campaign_member_id"])


def downgrade() -> None:
    op.drop_table("call_outcomes")
    op.drop_table("staged_uploads")
