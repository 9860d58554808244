"""`expire_sessions`: end surveys whose respondent has been silent past `expire_after`,
without waiting for them to write again.

Recurring: every run schedules the next one at the start of the next slot of
`expire_sweep_every` (slots counted from the epoch), with the slot in the dedup key, so
however many workers run or seed it, one job exists per slot. A run that finds a full batch
also schedules its continuation, due at once, from where it stopped.

Idempotent, as a due job must be (a worker that dies mid-run leaves it to be run again):
each session is looked at again under its person's locks and ended only if it is still
open and still idle; one that moved on, or a person in the middle of a message, is left.
Nothing is sent: after such a silence a customer-service message could not reach WeChat
anyway, and the person hears about it when they write (runtime `_between_surveys`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import respondents, surveys
from bot.services.jobs.context import JobContext
from storage.models import DueJob, SurveySession
from storage.models.survey_session import OPEN_STATUSES
from storage.repositories.due_jobs import DueJobRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository

log = logging.getLogger(__name__)

KIND = "expire_sessions"
ACTOR = f"scheduler:{KIND}"
# Sessions per run: the run is one transaction, and a person whose locks it took waits for
# its commit before their next message is handled.
BATCH = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_start(at: datetime, every: timedelta) -> datetime:
    """The start of the slot of length `every` that `at` falls in."""
    return _EPOCH + ((at - _EPOCH) // every) * every


def slot_key(start: datetime) -> str:
    return f"{KIND}:{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def ensure_scheduled(s: AsyncSession, *, now: datetime, every: timedelta) -> int | None:
    """Start the chain (due now) unless a sweep is already pending or running; the new
    job's id, or None. Called by the worker at start and now and then, so a chain broken by
    a job that failed for good starts again."""
    jobs = DueJobRepository(s)
    if await jobs.has_unfinished(KIND):
        return None
    return await jobs.schedule(KIND, {}, now, dedup_key=slot_key(slot_start(now, every)), now=now)


async def run(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    limit = int(job.payload.get("limit", BATCH))
    after_id = int(job.payload.get("after_id", 0))
    cutoff = ctx.now - ctx.config.engine.expire_after
    candidates = await SessionRepository(s).idle_open(before=cutoff, limit=limit, after_id=after_id)
    ended = skipped = 0
    for candidate in candidates:
        if await _expire(s, candidate, cutoff=cutoff, now=ctx.now):
            ended += 1
        else:
            skipped += 1
    if ended or skipped:
        log.info("expire_sessions: %s ended, %s left as they were", ended, skipped)

    jobs = DueJobRepository(s)
    every = ctx.config.expire_sweep_every
    following = slot_start(ctx.now, every) + every
    await jobs.schedule(KIND, {}, following, dedup_key=slot_key(following), now=ctx.now)
    if len(candidates) == limit:
        # Keyed by this job, so a second run of it (after a stale claim) adds no second one.
        await jobs.schedule(
            KIND,
            {**job.payload, "after_id": candidates[-1].id},
            ctx.now,
            dedup_key=f"{KIND}:after:{job.id}",
            now=ctx.now,
        )


async def _expire(s: AsyncSession, candidate: SurveySession, *, cutoff: datetime, now: datetime) -> bool:
    """End this session if it is still open and idle, under the person's locks."""
    respondent = await RespondentRepository(s).get(candidate.respondent_id)
    if respondent is None or not await respondents.try_lock_person(s, respondent):
        return False
    # Read again under the locks: a message may have moved it on since the query.
    session = await s.get(SurveySession, candidate.id, populate_existing=True)
    if session is None or session.status not in OPEN_STATUSES:
        return False
    last_heard = session.last_inbound_at or session.started_at
    if last_heard >= cutoff:
        return False
    try:
        async with s.begin_nested():
            # reason "silence": the same as when the respondent's own late message ends it.
            await surveys.end_survey(s, respondent, session, now=now, reason="silence", actor=ACTOR)
    except Exception:
        # One session the engine refuses (a state out of step with its status) must not
        # stop the sweep of everyone else; it stays open and is reported each run.
        log.exception("expire_sessions: session %s could not be ended", session.id)
        return False
    return True
