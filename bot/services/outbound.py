"""Outbound has one owner: every message to send becomes an outbox row here, in the
transaction that decided to send it.

If that transaction rolls back, the message goes with it; once it commits, the dispatcher
will deliver it (or record why it could not). Nothing is queued for a respondent who opted
out or cannot be reached; the dispatcher checks again before sending, because an opt-out
may commit between the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, Reply
from bot.dispatch.sender import refusal
from storage.db import Database
from storage.models import Respondent
from storage.repositories.audit import AuditRepository
from storage.repositories.outbox import OutboxRepository, check_message
from storage.repositories.respondents import RespondentRepository


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


# --- a turn's reply, kept in the outbox ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyPart:
    """One platform message of a reply (a channel may cut a long reply into several)."""

    text: str
    template_data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class KeepReply:
    """How a channel wants a turn's reply kept in the outbox; plain data, decided by the
    channel before the turn and applied by the runtime inside the turn's transaction, so a
    committed answer always has its reply kept.

    `parts` cuts the reply into the channel's messages (pure). `deadline` (event-loop time)
    keeps the reply only when the turn ends after it (WeChat: a passive reply is used when
    in time). `eager` claims the rows for a send by this process right after the commit
    (Telegram); otherwise the dispatcher sends them.
    """

    parts: Callable[[Reply], Sequence[ReplyPart]]
    key: Callable[[str, int], str]  # (delivery key, part index) → the row's dedup key
    deadline: float | None = None
    eager: bool = False


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


async def keep_reply(
    s: AsyncSession, inbound: Inbound, reply: Reply, respondent: Respondent | None, how: KeepReply
) -> Kept | None:
    """Queue the reply's messages; None when `how` says the reply is not kept this time.

    With `eager`, the rows are claimed for the send after the commit unless earlier rows of
    the chat are still waiting: those are made due now, and the worker sends the chat's
    queue in order.
    """
    if how.deadline is not None and asyncio.get_running_loop().time() < how.deadline:
        return None
    respondent_id = respondent.id if respondent is not None else None
    rows: list[KeptRow] = []
    for index, part in enumerate(how.parts(reply)):
        row_id = await queue_message(
            s,
            respondent=respondent,
            channel=inbound.channel,
            account=inbound.account,
            external_id=inbound.external_id,
            kind="reply",
            text=part.text,
            now=inbound.at,
            dedup_key=how.key(inbound.delivery_key, index),
            template_data=part.template_data,
        )
        if row_id is not None:  # None: queued before, by a delivery of the same message
            rows.append(KeptRow(row_id, part.text, part.template_data))
    if not how.eager or not rows:
        return Kept(tuple(rows), respondent_id=respondent_id)

    outbox = OutboxRepository(s)
    ids = [row.id for row in rows]
    after_earlier = refusal(respondent) is None
    if after_earlier:
        # Due now, like the new rows: a worker's pass then takes the chat's queue in id order.
        woken = await outbox.wake_earlier(
            channel=inbound.channel, account=inbound.account, external_id=inbound.external_id,
            before_id=ids[0], now=inbound.at,
        )  # fmt: skip
        if woken:
            return Kept(tuple(rows), eager=False, respondent_id=respondent_id)
    await outbox.claim_ids(ids, now=inbound.at)
    return Kept(
        tuple(rows), eager=True, claimed_at=inbound.at, respondent_id=respondent_id, after_earlier=after_earlier
    )


async def queue_late_reply(db: Database, inbound: Inbound, reply: Reply, how: KeepReply) -> None:
    """Keep the reply of a turn that committed after its channel stopped waiting for it."""
    async with db.transaction() as s:
        respondent = await RespondentRepository(s).by_identity(
            inbound.channel, inbound.account, inbound.external_id
        )
        await keep_reply(s, inbound, reply, respondent, replace(how, deadline=None))


# --- what became of the rows a channel sent itself, right after the commit ------------


async def earlier_unsent(db: Database, channel: str, account: str, external_id: str, before_id: int) -> datetime | None:
    """When the chat's latest-due unsent row before `before_id` is next due, if any."""
    async with db.transaction() as s:
        return await OutboxRepository(s).earlier_unsent(
            channel=channel, account=account, external_id=external_id, before_id=before_id
        )


async def record_sent(db: Database, row_id: int, *, via: str, now: datetime) -> None:
    async with db.transaction() as s:
        await OutboxRepository(s).mark_sent(row_id, via=via, now=now)


async def record_failed(db: Database, row_id: int, *, errcode: int | None, reason: str) -> None:
    async with db.transaction() as s:
        await OutboxRepository(s).mark_failed(row_id, errcode=errcode, reason=reason)


async def hand_to_worker(
    db: Database, row_ids: Sequence[int], *, errcode: int, error: str, waiting_code: int, next_at: datetime
) -> None:
    """The first row failed with `error`; the rest wait behind it, in order."""
    async with db.transaction() as s:
        outbox = OutboxRepository(s)
        for i, row_id in enumerate(row_ids):
            if i == 0:
                await outbox.mark_retry(row_id, errcode=errcode, error=error, next_at=next_at)
            else:
                await outbox.mark_retry(
                    row_id, errcode=waiting_code, error="waiting for an earlier message to this chat", next_at=next_at
                )


async def record_recipient_gone(
    db: Database,
    row_ids: Sequence[int],
    *,
    respondent_id: int | None,
    reason: str,
    errcode: int | None,
    actor: str,
    now: datetime,
) -> None:
    """The chat refuses every message (blocked the bot): these rows and everything after
    them will never go, and the respondent is marked unreachable."""
    async with db.transaction() as s:
        outbox = OutboxRepository(s)
        for row_id in row_ids:
            await outbox.mark_unreachable(row_id, reason=reason, errcode=errcode)
        if respondent_id is not None:
            await mark_respondent_unreachable(s, respondent_id, reason=reason, actor=actor, now=now)


async def mark_respondent_unreachable(
    s: AsyncSession, respondent_id: int, *, reason: str, actor: str, now: datetime
) -> None:
    people = RespondentRepository(s)
    respondent = await people.get(respondent_id)
    if respondent is None or respondent.unreachable_at is not None:
        return
    await people.mark_unreachable(respondent, at=now, reason=reason)
    await AuditRepository(s).record(
        actor=actor,
        action="respondent_unreachable",
        subject_type="respondent",
        subject_id=respondent_id,
        data={"reason": reason},
        at=now,
    )
