"""WeChat Official Accounts and their parametric QR scenes.

Revision ID: 0002_wechat_accounts
Revises: 0001_initial
Create Date: 2026-11-26

Types are spelled out here (not imported from storage.models) so this migration keeps
meaning what it meant when the models change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_wechat_accounts"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wechat_accounts",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("token", sa.String(128), nullable=False),
        sa.Column("aes_key", sa.String(64), nullable=True),
        sa.Column("app_secret", sa.String(128), nullable=True),
        sa.Column("template_id", sa.String(128), nullable=True),
        sa.Column("organisation_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_accounts")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_wechat_accounts_organisation_id_organisations"),
        ),
        sa.UniqueConstraint("name", name=op.f("uq_wechat_accounts_name")),
    )
    op.create_index(
        op.f("ix_wechat_accounts_organisation_id"), "wechat_accounts", ["organisation_id"]
    )

    op.create_table(
        "wechat_scenes",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("account_name", sa.String(64), nullable=False),
        sa.Column("scene", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("respondent_id", _id(), nullable=True),
        sa.Column("ticket", sa.String(255), nullable=True),
        sa.Column("url", sa.String(500), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_scenes")),
        sa.ForeignKeyConstraint(
            ["account_name"],
            ["wechat_accounts.name"],
            name=op.f("fk_wechat_scenes_account_name_wechat_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondents.id"],
            name=op.f("fk_wechat_scenes_respondent_id_respondents"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "account_name", "scene", name=op.f("uq_wechat_scenes_account_name_scene")
        ),
    )
    op.create_index(op.f("ix_wechat_scenes_respondent_id"), "wechat_scenes", ["respondent_id"])


def downgrade() -> None:
    op.drop_table("wechat_scenes")
    op.drop_table("wechat_accounts")
