from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, Json, UtcDateTime

if TYPE_CHECKING:
    from storage.models.channel_identity import ChannelIdentity
    from storage.models.organisation import Organisation


class Respondent(Base):
    """A person we follow up with. The category is a code from the flows' data, not an enum,
    so a new category needs a flow file, not a migration."""

    __tablename__ = "respondents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organisations.id"), index=True
    )
    category: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(64))
    # Free labels staff give people in their lists (e.g. 2025冬季救助); a JSON list of strings.
    tags: Mapped[list[str] | None] = mapped_column(Json)
    lang: Mapped[str] = mapped_column(String(16), default="zh")
    # Simulator visitors and staff trying a flow: kept, but never counted in reports.
    is_test: Mapped[bool] = mapped_column(default=False, server_default=false())
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unreachable_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The name's pinyin ("zhangsanfeng zsf"), written with the name (storage/name_keys.py),
    # so staff find people by typing a few letters on a phone.
    name_pinyin: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation | None] = relationship(lazy="raise")
    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="respondent", lazy="raise"
    )
