from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, UtcDateTime

if TYPE_CHECKING:
    from storage.models.respondent import Respondent

# "interview": an interviewer typed the person's answers in (`huifang chat --interview`).
CHANNELS = ("wechat", "telegram", "console", "simulator", "interview")


class ChannelIdentity(Base):
    """How one respondent is reached on one channel account (a WeChat openid is per
    official account, hence `account` is part of the identity)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "account", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(
        Id, ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    respondent: Mapped[Respondent] = relationship(back_populates="identities", lazy="raise")
