from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime

KINDS = ("province", "city", "district", "grassroots")


class Organisation(Base):
    """A Red Cross society or station: city society → district societies → grassroots
    stations. `path` holds the ids from the root down ("/1/4/9/"), so an organisation's
    scope (itself and everything under it) is one prefix match."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(Id, ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), server_default="city")
    path: Mapped[str] = mapped_column(String(512), index=True, server_default="/")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
