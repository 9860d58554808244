from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime

# queued      selected by the segment, invitation not yet written (quiet hours, throttle)
# invited     invitation written to the outbox (`invited_at`); `reached_at` once it was sent
# started     the respondent began the campaign's session (`session_id`, `started_at`)
# completed   the session completed (`completed_at`)
# declined    said no to the consent question, or the session was abandoned (`declined_at`)
# opted_out   unsubscribed (退订) before or during the campaign (`opted_out_at`)
# unreachable no chat channel could carry the invitation: on the call list, `reason` says why
# A phone interview moves an unreachable member to started/completed with `interviewer` set.
STATUSES = (
    "queued",
    "invited",
    "started",
    "completed",
    "declined",
    "opted_out",
    "unreachable",
)


class CampaignMember(Base):
    """One respondent in one campaign, and how far they got."""

    __tablename__ = "campaign_members"
    __table_args__ = (
        UniqueConstraint("campaign_id", "respondent_id"),
        Index(None, "campaign_id", "status"),
        Index(None, "status", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Id, ForeignKey("campaigns.id", ondelete="CASCADE"))
    respondent_id: Mapped[int] = mapped_column(Id, ForeignKey("respondents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32))
    account: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the scheduler should next look at this member: the invitation, then each reminder.
    next_action_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    session_id: Mapped[int | None] = mapped_column(Id, ForeignKey("survey_sessions.id"))
    interviewer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
