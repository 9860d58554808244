"""`staff_digest`: send each staff member one digest of their pending notices
(bot/services/staff_notices.py), once per slot of `staff_digest_every_s`.

Recurring like `expire_sessions`: every run schedules the start of the next slot, with the
slot in the dedup key, so one run exists per slot however many workers seed it, and a
person hears from us at most once per slot. A run that found a full batch of people also
schedules its continuation, due at once, for the people after the last one it served.

Idempotent as a due job must be: a second run of the same slot finds the notices already
marked; notices another run is sending are skipped, not waited for.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.jobs.context import JobContext
from bot.services.jobs.expire_sessions import slot_start
from bot.services.staff_notices import send_digests
from storage.models import DueJob
from storage.repositories.due_jobs import DueJobRepository

log = logging.getLogger(__name__)

KIND = "staff_digest"


def slot_key(start: datetime) -> str:
    return f"{KIND}:{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def ensure_scheduled(s: AsyncSession, *, now: datetime, every: timedelta) -> int | None:
    """Start the chain (due now) unless a run is already pending or running."""
    jobs = DueJobRepository(s)
    if await jobs.has_unfinished(KIND):
        return None
    return await jobs.schedule(KIND, {}, now, dedup_key=slot_key(slot_start(now, every)), now=now)


async def run(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    digest = ctx.config.staff_digest
    if digest is None:
        # Only a worker built without the container's notifier (a test's) gets here; failing
        # leaves the job to a worker that has one.
        raise RuntimeError("this worker has no staff notifier (JobConfig.staff_digest)")
    stats = await send_digests(
        s,
        digest.notifier,
        now=ctx.now,
        batch=int(job.payload.get("limit", digest.batch)),
        max_attempts=digest.max_attempts,
        public_url=digest.public_url,
        after_user_id=int(job.payload.get("after_user_id", 0)),
    )
    if stats.people or stats.muted:
        log.info("staff_digest: %s", stats)

    jobs = DueJobRepository(s)
    following = slot_start(ctx.now, digest.every) + digest.every
    await jobs.schedule(KIND, {}, following, dedup_key=slot_key(following), now=ctx.now)
    if stats.last_user_id is not None:
        # Keyed by this job, so a second run of it (after a stale claim) adds no second one.
        await jobs.schedule(
            KIND,
            {**job.payload, "after_user_id": stats.last_user_id},
            ctx.now,
            dedup_key=f"{KIND}:after:{job.id}",
            now=ctx.now,
        )
