"""Outbox of messages to send, and the index the 48 h window check reads.

Revision ID: 0003_outbox
Revises: 0002_wechat_accounts
Create Date: 2026-11-26

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_outbox"
down_revision: str | None = "0002_wechat_accounts"
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


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("respondent_id", _id(), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("template_data", _json(), nullable=True),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("claimed_at", _time(), nullable=True),
        sa.Column("last_errcode", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("via", sa.String(16), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondents.id"],
            name=op.f("fk_outbox_messages_respondent_id_respondents"),
        ),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_messages_dedup_key")),
    )
    op.create_index(
        op.f("ix_outbox_messages_status_next_attempt_at"),
        "outbox_messages",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_outbox_messages_channel_account_external_id_sent_at"),
        "outbox_messages",
        ["channel", "account", "external_id", "sent_at"],
    )
    op.create_index(
        op.f("ix_outbox_messages_respondent_id"), "outbox_messages", ["respondent_id"]
    )
    op.create_index(
        op.f("ix_inbound_messages_channel_account_external_id_received_at"),
        "inbound_messages",
        ["channel", "account", "external_id", "received_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_inbound_messages_channel_account_external_id_received_at"),
        table_name="inbound_messages",
    )
    op.drop_table("outbox_messages")
