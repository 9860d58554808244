"""Due jobs: one pass claims what is due and runs each job; `run_scheduler` repeats passes.

1. claim: one short transaction marks up to `batch` due jobs "running" (FOR UPDATE SKIP
   LOCKED on PostgreSQL, so workers take disjoint jobs), and jobs "running" for longer
   than `stale_after` (their worker died) are taken again;
2. per job, its own transaction: mark it done (fenced by the attempt this pass claimed,
   which on PostgreSQL also locks the row until the commit, so no other worker reclaims a
   job that is still running), then the handler. Its effects and "done" commit together;
3. a handler that raises rolls back with everything it did; a new short transaction then
   puts the job back for later (`backoff`) or, after `max_attempts`, marks it failed.

A crash between the claim and the job's commit leaves it "running", and after
`stale_after` it runs again: handlers must be idempotent (bot/services/jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.dispatch.sender import backoff
from bot.services.jobs import JobConfig, JobContext, JobHandler, ensure_recurring
from storage.db import Database
from storage.models import DueJob
from storage.repositories.due_jobs import DueJobRepository

log = logging.getLogger(__name__)

# How often the worker makes sure every recurring job has a pending run (a chain ends
# only when a run failed for good; this starts it again).
RECURRING_CHECK_EVERY = timedelta(minutes=5)
_ERROR_LENGTH = 2000


@dataclass
class JobStats:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    superseded: int = 0  # reclaimed or settled by another worker after this pass's claim
    errors: int = 0  # jobs whose failure could not be recorded (left to be reclaimed)


async def run_due_jobs_once(
    db: Database,
    handlers: Mapping[str, JobHandler],
    *,
    now: datetime,
    batch: int,
    stale_after: timedelta,
    max_attempts: int,
    config: JobConfig,
) -> JobStats:
    """Claim up to `batch` due jobs of the kinds in `handlers` and run each (see above)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if not handlers:
        return JobStats()
    async with db.transaction() as s:
        jobs = await DueJobRepository(s).claim_due(now, batch, stale_after, kinds=list(handlers))
    stats = JobStats(claimed=len(jobs))
    ctx = JobContext(now=now, config=config)
    for job in jobs:
        await _run_one(db, handlers[job.kind], job, ctx, stats, max_attempts=max_attempts)
    return stats


async def _run_one(
    db: Database, handler: JobHandler, job: DueJob, ctx: JobContext, stats: JobStats, *, max_attempts: int
) -> None:
    try:
        async with db.transaction() as s:
            if not await DueJobRepository(s).mark_done(job.id, ctx.now, attempt=job.attempts):
                stats.superseded += 1
                return
            await handler(s, job, ctx)
        stats.done += 1
        return
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"[:_ERROR_LENGTH]
        last = job.attempts >= max_attempts
        log.warning(
            "due job %s (%s) attempt %s/%s failed%s: %s",
            job.id, job.kind, job.attempts, max_attempts, ", giving up" if last else "", failure,
            exc_info=True,
        )  # fmt: skip
    try:
        async with db.transaction() as s:
            jobs = DueJobRepository(s)
            if last:
                settled = await jobs.mark_failed(job.id, failure, ctx.now, attempt=job.attempts)
            else:
                next_at = ctx.now + backoff(job.attempts)
                settled = await jobs.mark_retry(job.id, failure, next_at, attempt=job.attempts)
    except Exception:
        # The database is away: the job stays "running" and is reclaimed after stale_after.
        log.exception("due job %s: could not record its failure", job.id)
        stats.errors += 1
        return
    if not settled:
        stats.superseded += 1
    elif last:
        stats.failed += 1
    else:
        stats.retried += 1


async def run_scheduler(
    db: Database,
    handlers: Mapping[str, JobHandler],
    *,
    config: JobConfig,
    poll_s: float,
    batch: int,
    stale_after: timedelta,
    max_attempts: int,
    stop: asyncio.Event,
    clock: Callable[[], datetime],
) -> None:
    """Passes until `stop` is set; a pass in progress is finished first. `clock` gives
    every pass its `now` (the container's injectable clock)."""
    recurring_checked: datetime | None = None
    while not stop.is_set():
        stats: JobStats | None = None
        try:
            now = clock()
            if recurring_checked is None or now - recurring_checked >= RECURRING_CHECK_EVERY:
                async with db.transaction() as s:
                    await ensure_recurring(s, JobContext(now=now, config=config))
                recurring_checked = now
            stats = await run_due_jobs_once(
                db, handlers, now=now, batch=batch, stale_after=stale_after, max_attempts=max_attempts, config=config
            )
        except Exception:
            # The database is away: keep the worker alive and try again.
            log.exception("due-jobs pass failed; trying again in %s s", poll_s)
        if stats is not None and stats.claimed:
            log.info("due jobs: %s", stats)
        if stats is not None and stats.claimed >= batch:
            continue  # a full batch: more jobs are probably due
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
