from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from flows.lifecycles import TICKET_OPEN, TICKET_STATES
from storage.models.base import Base, Id, Json, UtcDateTime

STATUSES = tuple(TICKET_STATES)  # the ticket lifecycle machine's states (flows.lifecycles)
KINDS = ("complaint", "help", "human", "flagged")
PRIORITIES = (1, 2, 3, 4)  # 1 urgent … 4 low
_OPEN_CLAUSE = text("status IN (" + ", ".join(f"'{s}'" for s in sorted(TICKET_OPEN)) + ")")


class Ticket(Base):
    """A problem a respondent raised, for staff to solve: their exact words, where in the
    survey, and its place in the lifecycle. `version` goes up with every change, so a form
    filled in on an older version is refused instead of applied over a colleague's change.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_organisation_id_status", "organisation_id", "status"),
        Index("ix_tickets_queue_id_status_created_at", "queue_id", "status", "created_at"),
        # The ticket opened from an answer, shown beside it in reports (migration 0010).
        Index("ix_tickets_session_id_question_id", "session_id", "question_id"),
        # Open tickets in the order staff see them (migration 0006).
        Index(
            "ix_tickets_open_priority_created_at", "priority", "created_at", "id",
            postgresql_where=_OPEN_CLAUSE, sqlite_where=_OPEN_CLAUSE,
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(Id, ForeignKey("organisations.id"))
    queue_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ticket_queues.id"))
    respondent_id: Mapped[int] = mapped_column(Id, ForeignKey("respondents.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(Id, ForeignKey("survey_sessions.id"))
    question_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any] | None] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(Id, ForeignKey("staff_users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfaction: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
