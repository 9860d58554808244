from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flows.lifecycles import LIFECYCLE_STATES, TERMINAL
from storage.models.base import Base, Id, Json, UtcDateTime

if TYPE_CHECKING:
    from storage.models.answer import Answer
    from storage.models.flow_version import FlowVersion
    from storage.models.respondent import Respondent

# The statuses are the session lifecycle machine's states (flows.machine), not a copy.
STATUSES = tuple(LIFECYCLE_STATES)
ENDED_STATUSES = tuple(s for s in LIFECYCLE_STATES if s in TERMINAL)
OPEN_STATUSES = tuple(s for s in LIFECYCLE_STATES if s not in TERMINAL)


class SurveySession(Base):
    """One respondent going through one flow version; `state` is the engine's JSON state."""

    __tablename__ = "survey_sessions"
    __table_args__ = (Index(None, "respondent_id", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(Id, ForeignKey("respondents.id"))
    flow_version_id: Mapped[int] = mapped_column(Id, ForeignKey("flow_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set when a campaign's invitation started the session (reports count invited → completed).
    campaign_id: Mapped[int | None] = mapped_column(Id, ForeignKey("campaigns.id"), index=True)
    # The channel the session ran on ("wechat", "telegram", "phone", …) and, for a phone or
    # in-person interview, who entered the answers. NULL on sessions from before 0008.
    channel: Mapped[str | None] = mapped_column(String(32))
    interviewer: Mapped[str | None] = mapped_column(String(200))

    respondent: Mapped[Respondent] = relationship(lazy="raise")
    flow_version: Mapped[FlowVersion] = relationship(lazy="raise")
    answers: Mapped[list[Answer]] = relationship(back_populates="session", lazy="raise")
