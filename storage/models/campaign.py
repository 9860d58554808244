from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, Json, UtcDateTime

# draft → running ⇄ paused → finished. Only a running campaign sends.
STATUSES = ("draft", "running", "paused", "finished")


class Campaign(Base):
    """A flow sent to a segment of respondents within a window.

    `segment` is JSON: {"categories": [codes], "organisations": [codes], "tags": [labels],
    "not_surveyed_days": D}; an empty or missing list means "any". Invitations go out only
    between `send_from` and `send_until` local time in `timezone`, at most `per_minute` per
    channel account; people who have not answered get a reminder after `remind_after_days`,
    at most `max_reminders`; nobody surveyed (by any campaign or on their own) within
    `cooldown_days` is invited.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Id, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    flow_id: Mapped[int] = mapped_column(Id, ForeignKey("flows.id"))
    segment: Mapped[dict[str, Any]] = mapped_column(Json)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    send_from: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    send_until: Mapped[str] = mapped_column(String(5), default="21:00", server_default="21:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai", server_default="Asia/Shanghai")
    per_minute: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    remind_after_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    max_reminders: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    cooldown_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
