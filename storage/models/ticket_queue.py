from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, Json, UtcDateTime


class TicketQueue(Base):
    """Where an organisation's tickets wait, with its service levels. A ticket goes to the
    queue of its organisation whose `categories` (None: any) and `kinds` (None: any) match,
    the most specific first; the SLA clocks start when it is opened."""

    __tablename__ = "ticket_queues"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Id, ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    categories: Mapped[list[Any] | None] = mapped_column(Json)
    kinds: Mapped[list[Any] | None] = mapped_column(Json)
    priority: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
