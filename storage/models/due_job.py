from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, Json, UtcDateTime

STATUSES = ("pending", "running", "done", "failed")
DEDUP_KEY_LENGTH = 200


class DueJob(Base):
    """Work to do at a time: a session to expire, a reminder, an SLA check, a follow-up.

    The scheduler claims due rows ("pending" → "running", FOR UPDATE SKIP LOCKED on
    PostgreSQL), runs each in its own transaction, and marks it "done" in that same
    transaction, so a job's effects and its completion commit together. A row left
    "running" by a dead worker is claimed again after the stale time.
    """

    __tablename__ = "due_jobs"
    __table_args__ = (Index("ix_due_jobs_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dedup_key: Mapped[str | None] = mapped_column(String(DEDUP_KEY_LENGTH), unique=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
