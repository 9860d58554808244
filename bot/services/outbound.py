"""Outbound has one owner: every message to send becomes an outbox row here, in the
transaction that decided to send it.

If that transaction rolls back, the message goes with it; once it commits, the dispatcher
will deliver it (or record why it could not). Nothing is queued for a respondent who opted
out or cannot be reached; the dispatcher checks again before sending, because an opt-out
may commit between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import refusal
from storage.models import Respondent
from storage.repositories.outbox import OutboxRepository, check_message


async def queue_message(
    session: AsyncSession,
    *,
    respondent: Respondent | None,
    channel: str,
    account: str,
    external_id: str,
    kind: str,
    text: str,
    now: datetime,
    dedup_key: str | None = None,
    template_data: Mapping[str, Any] | None = None,
) -> int | None:
    """The new outbox row's id; None if the respondent may not be contacted or `dedup_key`
    was queued before. Raises ValueError for a malformed message (unknown kind, empty text).

    A "reply" answers a message the person has just sent, so it is queued even when that
    message opted them out (the confirmation of 退订 must still reach them); the dispatcher
    and the channels decide about sending it."""
    check_message(
        channel=channel,
        external_id=external_id,
        kind=kind,
        text=text,
        dedup_key=dedup_key,
        template_data=template_data,
    )
    if kind != "reply" and refusal(respondent) is not None:
        return None
    return await OutboxRepository(session).enqueue(
        respondent_id=respondent.id if respondent is not None else None,
        channel=channel,
        account=account,
        external_id=external_id,
        kind=kind,
        text=text,
        now=now,
        dedup_key=dedup_key,
        template_data=template_data,
    )
