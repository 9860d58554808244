"""Initial schema: organisations, respondents and their channel identities, flows and their
immutable versions, survey sessions and answers, inbound deliveries, audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25

Written from the models and reviewed; types are spelled out here (not imported from
storage.models) so this migration keeps meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _pk(name: str = "id") -> sa.Column:
    return sa.Column(name, _id(), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        _pk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("code", name=op.f("uq_organisations_code")),
    )

    op.create_table(
        "respondents",
        _pk(),
        sa.Column("organisation_id", _id(), nullable=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("consent_at", _time(), nullable=True),
        sa.Column("opted_out_at", _time(), nullable=True),
        sa.Column("unreachable_at", _time(), nullable=True),
        sa.Column("unreachable_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_respondents")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_respondents_organisation_id_organisations"),
        ),
    )
    op.create_index(op.f("ix_respondents_category"), "respondents", ["category"])
    op.create_index(op.f("ix_respondents_organisation_id"), "respondents", ["organisation_id"])

    op.create_table(
        "channel_identities",
        _pk(),
        sa.Column("respondent_id", _id(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identities")),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondents.id"],
            name=op.f("fk_channel_identities_respondent_id_respondents"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "channel",
            "account",
            "external_id",
            name=op.f("uq_channel_identities_channel_account_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_channel_identities_respondent_id"), "channel_identities", ["respondent_id"]
    )

    op.create_table(
        "flows",
        _pk(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("code", name=op.f("uq_flows_code")),
    )
    op.create_index(op.f("ix_flows_category"), "flows", ["category"])

    op.create_table(
        "flow_versions",
        _pk(),
        sa.Column("flow_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.id"], name=op.f("fk_flow_versions_flow_id_flows")
        ),
        sa.UniqueConstraint("flow_id", "version", name=op.f("uq_flow_versions_flow_id_version")),
    )
    op.create_index(
        op.f("ix_flow_versions_flow_id_content_hash"),
        "flow_versions",
        ["flow_id", "content_hash"],
    )

    op.create_table(
        "survey_sessions",
        _pk(),
        sa.Column("respondent_id", _id(), nullable=False),
        sa.Column("flow_version_id", _id(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("last_inbound_at", _time(), nullable=True),
        sa.Column("ended_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_sessions")),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondents.id"],
            name=op.f("fk_survey_sessions_respondent_id_respondents"),
        ),
        sa.ForeignKeyConstraint(
            ["flow_version_id"],
            ["flow_versions.id"],
            name=op.f("fk_survey_sessions_flow_version_id_flow_versions"),
        ),
    )
    op.create_index(
        op.f("ix_survey_sessions_respondent_id_status"),
        "survey_sessions",
        ["respondent_id", "status"],
    )
    op.create_index(
        op.f("ix_survey_sessions_flow_version_id"), "survey_sessions", ["flow_version_id"]
    )

    op.create_table(
        "answers",
        _pk(),
        sa.Column("session_id", _id(), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("value", _json(), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("parsed", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("answered_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["survey_sessions.id"],
            name=op.f("fk_answers_session_id_survey_sessions"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "session_id", "question_id", name=op.f("uq_answers_session_id_question_id")
        ),
    )

    op.create_table(
        "inbound_messages",
        _pk(),
        sa.Column("delivery_key", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("respondent_id", _id(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("received_at", _time(), nullable=False),
        sa.Column("reply", _json(), nullable=True),
        sa.Column("processed_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondents.id"],
            name=op.f("fk_inbound_messages_respondent_id_respondents"),
        ),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_inbound_messages_delivery_key")),
    )
    op.create_index(
        op.f("ix_inbound_messages_respondent_id"), "inbound_messages", ["respondent_id"]
    )

    op.create_table(
        "audit_log",
        _pk(),
        sa.Column("at", _time(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=True),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(
        op.f("ix_audit_log_subject_type_subject_id"), "audit_log", ["subject_type", "subject_id"]
    )


def downgrade() -> None:
    # Dependents first; indexes go with their tables.
    for table in (
        "audit_log",
        "inbound_messages",
        "answers",
        "survey_sessions",
        "flow_versions",
        "flows",
        "channel_identities",
        "respondents",
        "organisations",
    ):
        op.drop_table(table)
