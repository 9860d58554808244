from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, Json, UtcDateTime

if TYPE_CHECKING:
    from storage.models.survey_session import SurveySession


class Answer(Base):
    """The current answer to one question of one session. `raw_text` keeps every text the
    respondent typed for it (re-answers are appended), so nothing they said is lost."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("session_id", "question_id"),
        # A report's newest texts of a question (migration 0010).
        Index("ix_answers_question_id_answered_at_id", "question_id", "answered_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        Id, ForeignKey("survey_sessions.id", ondelete="CASCADE")
    )
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any | None] = mapped_column(Json)
    raw_text: Mapped[str] = mapped_column(Text)
    parsed: Mapped[bool]
    skipped: Mapped[bool]
    # complaint | help | suggestion | none: what a free-text answer reads as (reports count it).
    text_kind: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    session: Mapped[SurveySession] = relationship(back_populates="answers", lazy="raise")
