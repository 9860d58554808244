"""Staff accounts and their sessions, ticket queues, tickets with an append-only history,
organisations' own detection rules, notices to staff, and the kind of each free-text answer.

Revision ID: 0005_staff_and_tickets
Revises: 0004_foundations
Create Date: 2026-11-30

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_staff_and_tickets"
down_revision: str | None = "0004_foundations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _fk(name: str, target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(target, name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "organisation_id",
            _id(),
            _fk("fk_staff_users_organisation_id_organisations", "organisations.id"),
            nullable=False,
        ),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("wecom_userid", sa.String(64), nullable=True),
        sa.Column("notify_via", sa.String(16), nullable=False, server_default="none"),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", _time(), nullable=True),
        sa.Column("disabled_at", _time(), nullable=True),
        sa.Column("last_login_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )
    op.create_index("ix_staff_users_organisation_id", "staff_users", ["organisation_id"])

    op.create_table(
        "staff_sessions",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "user_id",
            _id(),
            _fk("fk_staff_sessions_user_id_staff_users", "staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("last_seen_at", _time(), nullable=True),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])

    op.create_table(
        "ticket_queues",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "organisation_id",
            _id(),
            _fk("fk_ticket_queues_organisation_id_organisations", "organisations.id"),
            nullable=False,
        ),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("categories", _json(), nullable=True),
        sa.Column("kinds", _json(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="2"),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.UniqueConstraint("organisation_id", "code", name="uq_ticket_queues_organisation_id_code"),
    )

    op.create_table(
        "tickets",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "organisation_id",
            _id(),
            _fk("fk_tickets_organisation_id_organisations", "organisations.id"),
            nullable=True,
        ),
        sa.Column("queue_id", _id(), _fk("fk_tickets_queue_id_ticket_queues", "ticket_queues.id"), nullable=True),
        sa.Column(
            "respondent_id",
            _id(),
            _fk("fk_tickets_respondent_id_respondents", "respondents.id"),
            nullable=False,
        ),
        sa.Column(
            "session_id",
            _id(),
            _fk("fk_tickets_session_id_survey_sessions", "survey_sessions.id"),
            nullable=True,
        ),
        sa.Column("question_id", sa.String(64), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("context", _json(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("assignee_id", _id(), _fk("fk_tickets_assignee_id_staff_users", "staff_users.id"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("first_response_due_at", _time(), nullable=True),
        sa.Column("resolution_due_at", _time(), nullable=True),
        sa.Column("first_response_at", _time(), nullable=True),
        sa.Column("resolved_at", _time(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("closed_at", _time(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("satisfaction", sa.String(32), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.UniqueConstraint("dedup_key", name="uq_tickets_dedup_key"),
    )
    op.create_index("ix_tickets_organisation_id_status", "tickets", ["organisation_id", "status"])
    op.create_index("ix_tickets_queue_id_status_created_at", "tickets", ["queue_id", "status", "created_at"])
    op.create_index("ix_tickets_respondent_id", "tickets", ["respondent_id"])
    op.create_index("ix_tickets_assignee_id", "tickets", ["assignee_id"])

    op.create_table(
        "ticket_events",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "ticket_id",
            _id(),
            _fk("fk_ticket_events_ticket_id_tickets", "tickets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", _time(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("staff_id", _id(), _fk("fk_ticket_events_staff_id_staff_users", "staff_users.id"), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", _json(), nullable=True),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "detection_rules",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "organisation_id",
            _id(),
            _fk("fk_detection_rules_organisation_id_organisations", "organisations.id"),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
    )
    op.create_index("ix_detection_rules_organisation_id", "detection_rules", ["organisation_id"])

    op.create_table(
        "staff_notices",
        sa.Column("id", _id(), primary_key=True),
        sa.Column(
            "user_id",
            _id(),
            _fk("fk_staff_notices_user_id_staff_users", "staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "ticket_id",
            _id(),
            _fk("fk_staff_notices_ticket_id_tickets", "tickets.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("via", sa.String(16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_staff_notices_user_id_sent_at", "staff_notices", ["user_id", "sent_at"])

    with op.batch_alter_table("answers") as t:
        # complaint | help | suggestion | none, for free-text answers: what the report counts.
        t.add_column(sa.Column("text_kind", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as t:
        t.drop_column("text_kind")
    op.drop_index("ix_staff_notices_user_id_sent_at", table_name="staff_notices")
    op.drop_table("staff_notices")
    op.drop_index("ix_detection_rules_organisation_id", table_name="detection_rules")
    op.drop_table("detection_rules")
    op.drop_index("ix_ticket_events_ticket_id", table_name="ticket_events")
    op.drop_table("ticket_events")
    for name in ("ix_tickets_assignee_id", "ix_tickets_respondent_id", "ix_tickets_queue_id_status_created_at",
                 "ix_tickets_organisation_id_status"):
        op.drop_index(name, table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("ticket_queues")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index("ix_staff_users_organisation_id", table_name="staff_users")
    op.drop_table("staff_users")
