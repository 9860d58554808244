"""Due jobs' handlers, one module per kind, run by the scheduler (bot/dispatch/scheduler.py)
each in its own transaction; see `JobHandler`. A handler must be idempotent: a worker that
dies after the handler's effects but before the commit leaves the job to be run again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.jobs import campaign_tick, expire_sessions, staff_digest, ticket_confirmation, ticket_sla
from bot.services.jobs.context import JobConfig, JobContext, JobHandler
from bot.services.ticket_followup import ASK, REMIND, TIMEOUT

HANDLERS: dict[str, JobHandler] = {
    expire_sessions.KIND: expire_sessions.run,
    staff_digest.KIND: staff_digest.run,
    ticket_sla.KIND: ticket_sla.run,
    campaign_tick.KIND: campaign_tick.run,
    ASK: ticket_confirmation.ask,
    REMIND: ticket_confirmation.remind,
    TIMEOUT: ticket_confirmation.timeout,
}

__all__ = ["HANDLERS", "JobConfig", "JobContext", "JobHandler", "ensure_recurring"]


async def ensure_recurring(s: AsyncSession, ctx: JobContext) -> None:
    """Give every recurring kind a pending run if it has none (the worker, at start and
    now and then): the first run ever, or a chain ended by a run that failed for good."""
    await expire_sessions.ensure_scheduled(s, now=ctx.now, every=ctx.config.expire_sweep_every)
    if ctx.config.staff_digest is not None:
        await staff_digest.ensure_scheduled(s, now=ctx.now, every=ctx.config.staff_digest.every)
    await ticket_sla.ensure_scheduled(s, now=ctx.now, every=ctx.config.tickets.sla_every)
    await campaign_tick.ensure_scheduled(s, now=ctx.now, every=ctx.config.campaign_tick_every)
