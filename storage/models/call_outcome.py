from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime

# no_answer    nobody picked up
# wrong_number the number is not this person's (or not in service)
# refused      the person declined the interview
# call_back    asked to be called again later (`note` says when)
OUTCOMES = ("no_answer", "wrong_number", "refused", "call_back")


class CallOutcome(Base):
    """A phone call that led to no interview, as the interviewer recorded it; append-only.
    A call that led to an interview is its survey session (channel "phone")."""

    __tablename__ = "call_outcomes"
    __table_args__ = (Index(None, "respondent_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(Id, ForeignKey("respondents.id"))
    campaign_member_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("campaign_members.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    interviewer: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
