from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class DetectionRule(Base):
    """An organisation's own additions to the complaint/help/suggestion rules, as the text
    its admin wrote (validated when saved); they apply to it and the organisations under it."""

    __tablename__ = "detection_rules"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Id, ForeignKey("organisations.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
