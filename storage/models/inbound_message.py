from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, Json, UtcDateTime

if TYPE_CHECKING:
    from storage.models.respondent import Respondent

DELIVERY_KEY_LENGTH = 200


class InboundMessage(Base):
    """Every delivery a channel made, keyed so a redelivery is recognised and answered with
    the reply stored the first time."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(DELIVERY_KEY_LENGTH), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(128))
    respondent_id: Mapped[int | None] = mapped_column(Id, ForeignKey("respondents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)  # our clock
    # The platform's own claim of when it was sent (WeChat CreateTime): kept for the
    # record, never used to decide anything, since the sender controls it.
    platform_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reply: Mapped[dict[str, Any] | None] = mapped_column(Json)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    respondent: Mapped[Respondent | None] = relationship(lazy="raise")
