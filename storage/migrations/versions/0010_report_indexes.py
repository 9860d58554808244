"""Indexes for reports over a million answers.

answers (question_id, answered_at, id): the newest free texts of a question are read by
walking it backwards and stopping at the report's limit, instead of ranking every answer.
tickets (session_id, question_id): the ticket opened from an answer, looked up per text shown
(it was a scan of all tickets per answer).

Revision ID: 0010_report_indexes
Revises: 0009_people
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_report_indexes"
down_revision: str | None = "0009_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_answers_question_id_answered_at_id", "answers", ["question_id", "answered_at", "id"])
    op.create_index("ix_tickets_session_id_question_id", "tickets", ["session_id", "question_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_session_id_question_id", table_name="tickets")
    op.drop_index("ix_answers_question_id_answered_at_id", table_name="answers")
