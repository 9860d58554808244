"""One pass over the outbox: claim due rows, send each, record what happened.

Three steps, never one transaction around a network call:
1. claim: one short transaction marks up to `batch` due rows "sending" (FOR UPDATE SKIP
   LOCKED on PostgreSQL, so workers take disjoint rows);
2. per row: a short transaction re-reads the respondent (an opt-out committed after the
   claim still stops the message), then the sender calls the platform outside any
   transaction;
3. another short transaction records the outcome. A row is "sent" only after the platform
   answered success.
A crash between 2 and 3 leaves the row "sending"; after `stale_after` another pass reclaims
and sends it again. That may deliver a message twice, never lose it: the platforms have no
idempotency key for these calls, so exactly-once is not on offer, and a lost reminder is
worse than a repeated one.

Rows of one recipient are sent in order, one at a time, within a pass; different
recipients are served concurrently. Across worker processes the order of one recipient's
rows is not guaranteed when they come due at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import Outcome, Sender, SendResult, backoff, refusal
from bot.services.outbound import mark_respondent_unreachable
from storage.db import Database
from storage.models import OutboxMessage, Respondent
from storage.repositories.outbox import OutboxRepository
from storage.repositories.respondents import RespondentRepository

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 6  # the first try and five retries, about 43 minutes in all
# Longer than any one send can take (token fetch + call + one refresh and retry, each
# bounded by the API timeout, plus rate-limit waits), so a live worker's row is not taken.
DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_CONCURRENCY = 8

SENDER_ERROR = -3001  # the sender raised instead of answering: a bug or an outage


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    superseded: int = 0  # settled by another worker after this one's claim went stale
    errors: int = 0  # rows whose outcome could not be recorded (left to be reclaimed)


async def dispatch_once(
    db: Database,
    senders: Mapping[str, Sender],
    *,
    now: datetime,
    batch: int,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> DispatchStats:
    """Claim up to `batch` due rows of the channels in `senders` and settle each."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if not senders:
        return DispatchStats()
    async with db.transaction() as s:
        rows = await OutboxRepository(s).claim_due(
            now=now, limit=batch, stale_after=stale_after, channels=list(senders)
        )
    stats = DispatchStats(claimed=len(rows))
    if not rows:
        return stats

    by_recipient: dict[tuple[str, str, str], list[OutboxMessage]] = {}
    for row in rows:
        by_recipient.setdefault((row.channel, row.account, row.external_id), []).append(row)
    gate = asyncio.Semaphore(concurrency)

    async def serve(group: list[OutboxMessage]) -> None:
        async with gate:
            for row in group:
                try:
                    status = await _dispatch_row(
                        db, senders[row.channel], row, now=now, max_attempts=max_attempts
                    )
                except Exception:
                    # The database failed us; the row stays "sending" and is reclaimed.
                    log.exception("outbox row %s: outcome not recorded", row.id)
                    status = "errors"
                setattr(stats, status, getattr(stats, status) + 1)

    await asyncio.gather(*(serve(group) for group in by_recipient.values()))
    return stats


async def _dispatch_row(
    db: Database, sender: Sender, row: OutboxMessage, *, now: datetime, max_attempts: int
) -> str:
    async with db.transaction() as s:
        respondent = await _recipient(s, row)
        reason = refusal(respondent)
        if reason is not None:
            changed = await OutboxRepository(s).mark_unreachable(row.id, reason=reason)
            return "unreachable" if changed else "superseded"

    try:
        outcome = await sender.send(row, respondent, now=now)
    except Exception as exc:
        log.exception("outbox row %s: %s sender raised", row.id, row.channel)
        outcome = Outcome(SendResult(False, SENDER_ERROR, f"sender error: {type(exc).__name__}: {exc}"))

    async with db.transaction() as s:
        status, changed = await _record(s, row, outcome, now=now, max_attempts=max_attempts)
        if outcome.respondent_unreachable is not None and respondent is not None:
            await mark_respondent_unreachable(
                s, respondent.id, reason=outcome.respondent_unreachable, actor="dispatcher", now=now
            )
    if not changed:
        log.warning("outbox row %s: settled by another worker meanwhile (%s)", row.id, status)
        return "superseded"
    return status


async def _recipient(s: AsyncSession, row: OutboxMessage) -> Respondent | None:
    people = RespondentRepository(s)
    if row.respondent_id is not None:
        return await people.get(row.respondent_id)
    return await people.by_identity(row.channel, row.account, row.external_id)


async def _record(
    s: AsyncSession, row: OutboxMessage, outcome: Outcome, *, now: datetime, max_attempts: int
) -> tuple[str, bool]:
    outbox = OutboxRepository(s)
    result = outcome.result
    if outcome.sent:
        return "sent", await outbox.mark_sent(row.id, via=outcome.via, now=now)
    if outcome.unreachable is not None:
        errcode = result.errcode if result is not None else None
        log.info("outbox row %s unreachable: %s", row.id, outcome.unreachable)
        return "unreachable", await outbox.mark_unreachable(
            row.id, reason=outcome.unreachable, errcode=errcode
        )
    if result is None:
        log.error("outbox row %s: sender gave neither a result nor a reason", row.id)
        return "failed", await outbox.mark_failed(
            row.id, errcode=None, reason="sender gave neither a result nor a reason"
        )
    if result.permanent:
        reason = f"{result.reason}: {result.errmsg}"
        log.warning("outbox row %s failed: %s (%s)", row.id, reason, result.errcode)
        return "failed", await outbox.mark_failed(row.id, errcode=result.errcode, reason=reason)
    if not result.retryable:
        # Wrong secret, IP not whitelisted, bad template…: an operator must act, and may
        # well do so before the attempts run out, so these are tried again too.
        log.error("outbox row %s: %s %s (needs an operator)", row.id, result.errcode, result.errmsg)
    if row.attempts >= max_attempts:
        reason = f"gave up after {row.attempts} attempts: {result.errmsg}"
        log.warning("outbox row %s failed: %s", row.id, reason)
        return "failed", await outbox.mark_failed(row.id, errcode=result.errcode, reason=reason)
    return "retried", await outbox.mark_retry(
        row.id, errcode=result.errcode, error=result.errmsg, next_at=now + backoff(row.attempts)
    )

