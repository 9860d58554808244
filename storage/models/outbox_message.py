from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, Json, UtcDateTime
from storage.models.inbound_message import InboundMessage

KINDS = ("reply", "invitation", "reminder", "follow_up")
STATUSES = ("pending", "sending", "sent", "failed", "unreachable")
DEDUP_KEY_LENGTH = 200


class OutboxMessage(Base):
    """A message to send, written in the transaction that decided to send it.

    The dispatcher claims due rows ("pending" → "sending"), sends outside any transaction,
    then records the outcome: "sent" (only after the API said so), back to "pending" with a
    later `next_attempt_at` (retryable failure), "failed" (permanent, or out of attempts),
    or "unreachable" (nothing was or will be sent: opted out, unsubscribed, window closed
    without a template).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # The customer-service quota counts what went to one recipient since their message.
        Index(
            "ix_outbox_messages_channel_account_external_id_sent_at",
            "channel",
            "account",
            "external_id",
            "sent_at",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    respondent_id: Mapped[int | None] = mapped_column(Id, ForeignKey("respondents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    template_data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    dedup_key: Mapped[str | None] = mapped_column(String(DEDUP_KEY_LENGTH), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_errcode: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str | None] = mapped_column(String(16))  # "custom" | "template" on WeChat
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# The 48 h window is measured from a recipient's latest inbound message. The index lives on
# inbound_messages but belongs to the outbox's needs, and migration 0003 creates it; it is
# declared here so the models and the migrations keep agreeing.
Index(
    "ix_inbound_messages_channel_account_external_id_received_at",
    InboundMessage.channel,
    InboundMessage.account,
    InboundMessage.external_id,
    InboundMessage.received_at,
)
