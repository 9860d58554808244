from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, Json, UtcDateTime

KINDS = ("opened", "moved", "note", "message", "reply", "sla_breached", "notified")


class TicketEvent(Base):
    """One entry of a ticket's history, append-only: who did what, when. Internal notes
    and messages to or from the respondent are entries too."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Id, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(Id, ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
