"""`ticket_sla`: escalate open tickets past a due time (first response or resolution).

Recurring like `expire_sessions`: every run schedules the next at the start of the next slot
of `tickets.sla_every`, the slot in the dedup key, so one job exists per slot however many
workers run; a full batch schedules its continuation at once.

Idempotent: each ticket is locked and checked again before it is escalated, and escalation
restarts its clocks from the new queue, so a second run (after a stale claim) or the next
slot finds it no longer past due — one escalation per breach.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.jobs.context import JobContext
from bot.services.jobs.expire_sessions import slot_start
from bot.services.tickets import escalate_for_sla
from storage.models import DueJob, Ticket
from storage.repositories.due_jobs import DueJobRepository
from storage.repositories.tickets import TicketRepository

log = logging.getLogger(__name__)

KIND = "ticket_sla"
# Tickets per run: the run is one transaction holding each escalated ticket's row lock.
BATCH = 100


def slot_key(start: datetime) -> str:
    return f"{KIND}:{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def ensure_scheduled(s: AsyncSession, *, now: datetime, every: timedelta) -> int | None:
    """Start the chain (due now) unless a check is already pending or running."""
    jobs = DueJobRepository(s)
    if await jobs.has_unfinished(KIND):
        return None
    return await jobs.schedule(KIND, {}, now, dedup_key=slot_key(slot_start(now, every)), now=now)


async def run(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    limit = int(job.payload.get("limit", BATCH))
    after_id = int(job.payload.get("after_id", 0))
    config = ctx.config.tickets
    ids = await TicketRepository(s).due_for_sla(ctx.now, limit=limit, after_id=after_id)
    escalated = 0
    for ticket_id in ids:
        ticket = await s.get(Ticket, ticket_id)
        if ticket is None:
            continue
        try:
            async with s.begin_nested():
                escalated += await escalate_for_sla(s, ticket, now=ctx.now, config=config)
        except Exception:
            # One ticket that cannot be escalated must not hold up the others; it is
            # still past due, so the next run tries it again (and logs it again).
            log.exception("ticket_sla: ticket %s could not be escalated", ticket_id)
    if escalated:
        log.info("ticket_sla: %s tickets escalated", escalated)

    jobs = DueJobRepository(s)
    following = slot_start(ctx.now, config.sla_every) + config.sla_every
    await jobs.schedule(KIND, {}, following, dedup_key=slot_key(following), now=ctx.now)
    if len(ids) == limit:
        await jobs.schedule(
            KIND, {**job.payload, "after_id": ids[-1]}, ctx.now, dedup_key=f"{KIND}:after:{job.id}", now=ctx.now
        )
