"""The scheduler's pass on both databases with a fixed clock: a job's effects and its "done"
commit together, a failing job's effects roll back and it is retried with backoff, then
failed; kinds this worker cannot run are left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.scheduler import run_due_jobs_once
from bot.dispatch.sender import backoff
from bot.services.catalog import FlowCache
from bot.services.jobs import JobConfig, JobContext
from flows.engine import EngineConfig
from storage.db import Database
from storage.models import AuditEntry, DueJob
from storage.repositories.audit import AuditRepository
from storage.repositories.due_jobs import DueJobRepository

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
STALE = timedelta(minutes=5)
CONFIG = JobConfig(engine=EngineConfig(), flows=FlowCache(), expire_sweep_every=timedelta(minutes=10))


class Note:
    """A job kind whose effect is an audit entry; it fails after writing it while `failing`."""

    def __init__(self, failing: int = 0) -> None:
        self.failing = failing
        self.seen: list[tuple[int, int, datetime]] = []

    async def __call__(self, s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
        self.seen.append((job.id, job.attempts, ctx.now))
        await AuditRepository(s).record(
            actor="test", action="noted", subject_type="due_job", subject_id=job.id, data=job.payload, at=ctx.now
        )
        if self.failing:
            self.failing -= 1
            raise RuntimeError("the ticket service is away")


async def schedule(db: Database, kind: str = "note", due: datetime = T0) -> int:
    async with db.transaction() as s:
        job_id = await DueJobRepository(s).schedule(kind, {"ticket": 7}, due, now=T0 - timedelta(days=1))
        assert job_id is not None
        return job_id


async def run(db: Database, handler: Note, now: datetime, *, max_attempts: int = 3):
    return await run_due_jobs_once(
        db, {"note": handler}, now=now, batch=10, stale_after=STALE, max_attempts=max_attempts, config=CONFIG
    )


async def job(db: Database, job_id: int) -> DueJob:
    async with db.transaction() as s:
        found = await DueJobRepository(s).get(job_id)
        assert found is not None
        return found


async def notes(db: Database) -> int:
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "noted"))


async def test_a_due_job_runs_once_and_its_effects_commit_with_done(db: Database) -> None:
    handler = Note()
    job_id = await schedule(db)
    future = await schedule(db, due=T0 + timedelta(hours=1))

    stats = await run(db, handler, T0)
    again = await run(db, handler, T0 + timedelta(minutes=30))

    assert (stats.claimed, stats.done) == (1, 1) and again.claimed == 0
    assert handler.seen == [(job_id, 1, T0)]
    done = await job(db, job_id)
    assert (done.status, done.finished_at, done.claimed_at, done.last_error) == ("done", T0, None, None)
    assert await notes(db) == 1
    assert (await job(db, future)).status == "pending"


async def test_a_failing_job_rolls_back_and_is_retried_with_backoff_then_fails(db: Database) -> None:
    handler = Note(failing=3)
    job_id = await schedule(db)

    first = await run(db, handler, T0)
    retried = await job(db, job_id)
    assert (first.claimed, first.retried, first.done) == (1, 1, 0)
    assert await notes(db) == 0  # what it wrote before failing is gone
    assert (retried.status, retried.attempts, retried.due_at) == ("pending", 1, T0 + backoff(1))
    assert retried.last_error == "RuntimeError: the ticket service is away"

    assert (await run(db, handler, T0 + backoff(1) - timedelta(seconds=1))).claimed == 0  # not yet
    at = T0 + backoff(1)
    second = await run(db, handler, at)
    assert second.retried == 1 and (await job(db, job_id)).due_at == at + backoff(2)

    third = await run(db, handler, at + backoff(2))
    failed = await job(db, job_id)
    assert third.failed == 1
    assert (failed.status, failed.attempts, failed.finished_at) == ("failed", 3, at + backoff(2))
    assert await notes(db) == 0
    assert (await run(db, handler, T0 + timedelta(days=1))).claimed == 0  # failed is final
    assert [attempt for _, attempt, _ in handler.seen] == [1, 2, 3]


async def test_a_job_that_succeeds_on_a_retry_is_done_once(db: Database) -> None:
    handler = Note(failing=1)
    job_id = await schedule(db)
    await run(db, handler, T0)
    stats = await run(db, handler, T0 + backoff(1))
    assert stats.done == 1
    assert (await job(db, job_id)).status == "done"
    assert await notes(db) == 1


async def test_kinds_without_a_handler_wait_for_a_worker_that_has_one(db: Database) -> None:
    unknown = await schedule(db, kind="campaign_invite")
    stats = await run(db, Note(), T0)
    assert stats.claimed == 0
    assert (await job(db, unknown)).status == "pending"


async def test_a_job_reclaimed_while_its_first_run_is_stuck_runs_again(db: Database) -> None:
    """A worker died after claiming: the claim goes stale and the job runs on the next one."""
    job_id = await schedule(db)
    async with db.transaction() as s:
        await DueJobRepository(s).claim_due(T0, 10, STALE)  # …and never finished
    handler = Note()
    assert (await run(db, handler, T0 + STALE)).claimed == 0
    stats = await run(db, handler, T0 + STALE + timedelta(seconds=1))
    assert stats.done == 1 and handler.seen == [(job_id, 2, T0 + STALE + timedelta(seconds=1))]
