"""Foundations: the organisation tree, flows owned by organisations, test respondents,
due jobs for the scheduler, room for encrypted secrets, and WeChat's own message time.

Revision ID: 0004_foundations
Revises: 0003_outbox
Create Date: 2026-11-30

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_foundations"
down_revision: str | None = "0003_outbox"
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


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add a foreign key or change a type in place.
    with op.batch_alter_table("organisations") as t:
        t.add_column(sa.Column("parent_id", _id(), nullable=True))
        t.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default="city"))
        # "/1/4/9/": the ids from the root down, so "this one and all under it" is one
        # indexed prefix match instead of a recursive query per request.
        t.add_column(sa.Column("path", sa.String(512), nullable=False, server_default="/"))
        t.create_foreign_key(
            "fk_organisations_parent_id_organisations", "organisations", ["parent_id"], ["id"]
        )
        t.create_index("ix_organisations_parent_id", ["parent_id"])
        t.create_index("ix_organisations_path", ["path"])
    op.execute("UPDATE organisations SET path = '/' || CAST(id AS VARCHAR) || '/'")

    with op.batch_alter_table("flows") as t:
        t.add_column(sa.Column("organisation_id", _id(), nullable=True))
        t.create_foreign_key(
            "fk_flows_organisation_id_organisations", "organisations", ["organisation_id"], ["id"]
        )
        t.create_index("ix_flows_organisation_id", ["organisation_id"])

    with op.batch_alter_table("respondents") as t:
        t.add_column(sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("inbound_messages") as t:
        t.add_column(sa.Column("platform_at", _time(), nullable=True))

    with op.batch_alter_table("wechat_accounts") as t:
        # Fernet tokens of the secrets are longer than the secrets themselves.
        t.alter_column("token", type_=sa.Text(), existing_type=sa.String(128))
        t.alter_column("aes_key", type_=sa.Text(), existing_type=sa.String(64))
        t.alter_column("app_secret", type_=sa.Text(), existing_type=sa.String(128))

    op.create_table(
        "due_jobs",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("due_at", _time(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("claimed_at", _time(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
        sa.UniqueConstraint("dedup_key", name="uq_due_jobs_dedup_key"),
    )
    op.create_index("ix_due_jobs_status_due_at", "due_jobs", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_due_jobs_status_due_at", table_name="due_jobs")
    op.drop_table("due_jobs")
    with op.batch_alter_table("wechat_accounts") as t:
        t.alter_column("token", type_=sa.String(128), existing_type=sa.Text())
        t.alter_column("aes_key", type_=sa.String(64), existing_type=sa.Text())
        t.alter_column("app_secret", type_=sa.String(128), existing_type=sa.Text())
    with op.batch_alter_table("inbound_messages") as t:
        t.drop_column("platform_at")
    with op.batch_alter_table("respondents") as t:
        t.drop_column("is_test")
    with op.batch_alter_table("flows") as t:
        t.drop_index("ix_flows_organisation_id")
        t.drop_constraint("fk_flows_organisation_id_organisations", type_="foreignkey")
        t.drop_column("organisation_id")
    with op.batch_alter_table("organisations") as t:
        t.drop_index("ix_organisations_path")
        t.drop_index("ix_organisations_parent_id")
        t.drop_constraint("fk_organisations_parent_id_organisations", type_="foreignkey")
        t.drop_column("path")
        t.drop_column("kind")
        t.drop_column("parent_id")
