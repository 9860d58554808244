"""A Telegram chat's messages in the outbox: kept with the turn, sent in order.

Every reply is written as outbox rows in the transaction of the turn that produced it
(`keep_reply`, the runtime's after_turn hook), so a committed answer always has its reply
kept. Then one of two things sends the rows:

- the eager send (delivery.py), right after the commit, in this process. The rows are born
  "sending" (claimed by it), so no worker touches them unless this process dies, in which
  case they are reclaimed after the outbox's stale_after and sent again (maybe twice, never
  lost);
- the dispatcher worker (bot/dispatch/telegram.py), for every row the eager send could not
  send, or did not try.

Order per chat. A row is sent only when no earlier row of its chat is still waiting
("pending") or on its way ("sending"):
- keep_reply claims the new rows for the eager send only when the chat has no earlier row
  waiting. Otherwise the new rows stay pending behind them, and the earlier ones are made due
  at once (the respondent wrote, so try the chat's queue now), for the worker, whose pass
  takes a chat's rows in id order and sends them one after another;
- the eager send checks again after the commit, once it holds the chat's turn, whether an
  earlier row is still unsent (a previous reply whose eager send failed meanwhile, or a row
  a worker is sending); if so it hands its rows to the worker instead;
- the worker's sender refuses ("waiting", retried later) a row with an earlier one unsent.

The queue queries themselves are OutboxRepository's (storage stays behind repositories).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, Reply
from bot.channels.telegram.outgoing import reply_key, reply_parts
from bot.channels.telegram.parse import CHANNEL
from bot.dispatch.sender import refusal
from bot.services.outbound import queue_message
from storage.repositories.audit import AuditRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.respondents import RespondentRepository

@dataclass(frozen=True, slots=True)
class KeptRow:
    id: int
    text: str
    template_data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Kept:
    """The rows of one reply, in order, and who sends them."""

    rows: tuple[KeptRow, ...] = ()
    eager: bool = False  # claimed for the eager send; False: the worker sends them
    claimed_at: datetime | None = None  # when the eager send's claim began (its stale clock)
    respondent_id: int | None = None
    # False when earlier rows of the chat will never go (the respondent opted out with this
    # very message, so the dispatcher refuses them): this reply need not wait for them.
    after_earlier: bool = True


async def keep_reply(s: AsyncSession, inbound: Inbound, reply: Reply, respondent: Any, *, lang: str) -> Kept:
    """Queue the reply's messages in the turn's transaction; claim them for the eager send
    unless earlier messages of the chat are still waiting to go."""
    respondent_id = respondent.id if respondent is not None else None
    outbox = OutboxRepository(s)
    rows: list[KeptRow] = []
    for index, part in enumerate(reply_parts(reply, lang)):
        row_id = await queue_message(
            s,
            respondent=respondent,
            channel=CHANNEL,
            account=inbound.account,
            external_id=inbound.external_id,
            kind="reply",
            text=part.text,
            now=inbound.at,
            dedup_key=reply_key(inbound.delivery_key, index),
            template_data=part.template_data,
        )
        if row_id is not None:  # None: queued before, by a delivery of the same update
            rows.append(KeptRow(row_id, part.text, part.template_data))
    if not rows:
        return Kept(respondent_id=respondent_id)

    ids = [row.id for row in rows]
    after_earlier = refusal(respondent) is None
    if after_earlier:
        # Due now, like the new rows: a worker's pass then takes the chat's queue in id order.
        woken = await outbox.wake_earlier(
            channel=CHANNEL, account=inbound.account, external_id=inbound.external_id,
            before_id=ids[0], now=inbound.at,
        )
        if woken:
            return Kept(tuple(rows), eager=False, respondent_id=respondent_id)
    await outbox.claim_ids(ids, now=inbound.at)
    return Kept(
        tuple(rows), eager=True, claimed_at=inbound.at, respondent_id=respondent_id, after_earlier=after_earlier
    )


async def earlier_unsent(s: AsyncSession, account: str, external_id: str, before_id: int) -> datetime | None:
    """When the chat's latest-due unsent row before `before_id` is next due, if any."""
    return await OutboxRepository(s).earlier_unsent(
        channel=CHANNEL, account=account, external_id=external_id, before_id=before_id
    )


async def mark_respondent_gone(s: AsyncSession, respondent_id: int, *, reason: str, now: datetime) -> None:
    """The chat refuses every message (blocked the bot): nothing more is sent to them."""
    people = RespondentRepository(s)
    respondent = await people.get(respondent_id)
    if respondent is None or respondent.unreachable_at is not None:
        return
    await people.mark_unreachable(respondent, at=now, reason=reason)
    await AuditRepository(s).record(
        actor="telegram",
        action="respondent_unreachable",
        subject_type="respondent",
        subject_id=respondent_id,
        data={"reason": reason},
        at=now,
    )
