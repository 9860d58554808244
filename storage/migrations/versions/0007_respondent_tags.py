"""Respondents get tags: the labels staff give people in the lists they import.

Revision ID: 0007_respondent_tags
Revises: 0006_ticket_open_order
Create Date: 2026-12-08

A JSON list of strings (JSONB on PostgreSQL), NULL for none. A column rather than a table:
tags are read and written with the person, and reports can still look inside JSONB.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0007_respondent_tags"
down_revision: str | None = "0006_ticket_open_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from storage.models.base, so this migration keeps meaning what it meant.
_JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("respondents") as batch:
        batch.add_column(sa.Column("tags", _JSON))


def downgrade() -> None:
    with op.batch_alter_table("respondents") as batch:
        batch.drop_column("tags")
