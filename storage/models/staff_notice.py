from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class StaffNotice(Base):
    """Something a staff member should know (a new, reopened or breached ticket), waiting to
    go out in their next digest by WeCom or e-mail; `sent_at` once it went."""

    __tablename__ = "staff_notices"
    __table_args__ = (Index("ix_staff_notices_user_id_sent_at", "user_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("staff_users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    via: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
