"""Campaigns: a flow sent to a segment of respondents in a window, and one member row per
person invited; sessions remember the campaign, the channel and the interviewer.

Revision ID: 0008_campaigns
Revises: 0007_respondent_tags
Create Date: 2026-11-30

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_campaigns"
down_revision: str | None = "0007_respondent_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _fk(name: str, target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(target, name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "organisation_id",
            _id(),
            _fk("fk_campaigns_organisation_id_organisations", "organisations.id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("flow_id", _id(), _fk("fk_campaigns_flow_id_flows", "flows.id"), nullable=False),
        sa.Column("segment", _json(), nullable=False),
        sa.Column("starts_at", _time(), nullable=True),
        sa.Column("ends_at", _time(), nullable=True),
        sa.Column("send_from", sa.String(5), nullable=False, server_default="08:00"),
        sa.Column("send_until", sa.String(5), nullable=False, server_default="21:00"),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Shanghai"),
        sa.Column("per_minute", sa.Integer(), nullable=False, server_default="60"),
        sa.Column("remind_after_days", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("max_reminders", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("cooldown_days", sa.Integer(), nullable=False, server_default="90"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("started_at", _time(), nullable=True),
        sa.Column("finished_at", _time(), nullable=True),
    )
    op.create_index("ix_campaigns_organisation_id", "campaigns", ["organisation_id"])
    op.create_index("ix_campaigns_status", "campaigns", ["status"])

    op.create_table(
        "campaign_members",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "campaign_id",
            _id(),
            _fk("fk_campaign_members_campaign_id_campaigns", "campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "respondent_id",
            _id(),
            _fk("fk_campaign_members_respondent_id_respondents", "respondents.id"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("account", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("invited_at", _time(), nullable=True),
        sa.Column("reached_at", _time(), nullable=True),
        sa.Column("started_at", _time(), nullable=True),
        sa.Column("completed_at", _time(), nullable=True),
        sa.Column("declined_at", _time(), nullable=True),
        sa.Column("opted_out_at", _time(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_action_at", _time(), nullable=True),
        sa.Column(
            "session_id",
            _id(),
            _fk("fk_campaign_members_session_id_survey_sessions", "survey_sessions.id"),
            nullable=True,
        ),
        sa.Column("interviewer", sa.String(200), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.UniqueConstraint("campaign_id", "respondent_id", name="uq_campaign_members_campaign_id_respondent_id"),
    )
    op.create_index("ix_campaign_members_campaign_id_status", "campaign_members", ["campaign_id", "status"])
    op.create_index(
        "ix_campaign_members_status_next_action_at",
        "campaign_members",
        ["status", "next_action_at"],
    )
    op.create_index("ix_campaign_members_respondent_id", "campaign_members", ["respondent_id"])

    with op.batch_alter_table("survey_sessions") as batch:
        batch.add_column(
            sa.Column(
                "campaign_id",
                _id(),
                _fk("fk_survey_sessions_campaign_id_campaigns", "campaigns.id"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("channel", sa.String(32), nullable=True))
        batch.add_column(sa.Column("interviewer", sa.String(200), nullable=True))
        batch.create_index("ix_survey_sessions_campaign_id", ["campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("survey_sessions") as batch:
        batch.drop_index("ix_survey_sessions_campaign_id")
        batch.drop_column("interviewer")
        batch.drop_column("channel")
        batch.drop_column("campaign_id")
    op.drop_table("campaign_members")
    op.drop_table("campaigns")
