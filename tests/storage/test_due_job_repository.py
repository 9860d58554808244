"""Due jobs on both databases: scheduling with a dedup key, claims of due and stale jobs,
the attempt fence, and on PostgreSQL claimers that never wait for or share a job."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from storage.db import Database
from storage.repositories.due_jobs import DueJobRepository

STALE = timedelta(minutes=5)


async def schedule(db: Database, t0: datetime, *, due: timedelta = timedelta(0), kind: str = "remind", key: str | None = None) -> int | None:
    async with db.transaction() as s:
        return await DueJobRepository(s).schedule(kind, {"n": 1}, t0 + due, dedup_key=key, now=t0)


async def claim(db: Database, now: datetime, limit: int = 10, kinds: list[str] | None = None) -> list[int]:
    async with db.transaction() as s:
        return [job.id for job in await DueJobRepository(s).claim_due(now, limit, STALE, kinds=kinds)]


async def get(db: Database, job_id: int):
    async with db.transaction() as s:
        job = await DueJobRepository(s).get(job_id)
        assert job is not None
        return job


async def test_a_dedup_key_schedules_once_whatever_became_of_the_first(db: Database, t0: datetime) -> None:
    first = await schedule(db, t0, key="remind:session-7")
    assert first is not None
    assert await schedule(db, t0, due=timedelta(hours=1), key="remind:session-7") is None
    await claim(db, t0)
    async with db.transaction() as s:
        assert await DueJobRepository(s).mark_done(first, t0)
    assert await schedule(db, t0, key="remind:session-7") is None  # done is still "scheduled before"
    assert await schedule(db, t0) is not None and await schedule(db, t0) is not None  # no key: no dedup
    job = await get(db, first)
    assert (job.kind, job.payload, job.status, job.due_at, job.finished_at) == ("remind", {"n": 1}, "done", t0, t0)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kind": ""}, "kind of 1"),
        ({"kind": "k" * 33}, "kind of 1"),
        ({"dedup_key": "k" * 201}, "dedup_key must be"),
        ({"due_at": datetime(2026, 3, 1, 8, 0)}, "naive datetime"),
        ({"now": datetime(2026, 3, 1, 8, 0)}, "naive datetime"),
    ],
)
async def test_malformed_jobs_and_naive_times_are_refused(db: Database, t0: datetime, changes, error) -> None:
    arguments = {"kind": "remind", "payload": {}, "due_at": t0, "now": t0} | changes
    with pytest.raises(Exception, match=error):
        async with db.transaction() as s:
            await DueJobRepository(s).schedule(
                arguments.pop("kind"), arguments.pop("payload"), arguments.pop("due_at"), **arguments
            )
    with pytest.raises(Exception, match="naive datetime"):
        async with db.transaction() as s:
            await DueJobRepository(s).claim_due(datetime(2026, 3, 1, 8, 0), 10, STALE)


async def test_a_claim_takes_due_jobs_once_in_due_order_and_leaves_future_ones(db: Database, t0: datetime) -> None:
    late = await schedule(db, t0, due=-timedelta(minutes=1))
    early = await schedule(db, t0, due=-timedelta(hours=1))
    future = await schedule(db, t0, due=timedelta(seconds=1))

    assert await claim(db, t0, limit=1) == [early]
    assert await claim(db, t0) == [late]
    assert await claim(db, t0) == []
    job = await get(db, early)
    assert (job.status, job.attempts, job.claimed_at) == ("running", 1, t0)
    assert (await get(db, future)).status == "pending"
    assert await claim(db, t0 + timedelta(seconds=1)) == [future]


async def test_a_claim_takes_only_the_kinds_asked_for(db: Database, t0: datetime) -> None:
    remind = await schedule(db, t0, kind="remind")
    sla = await schedule(db, t0, kind="sla_check")
    assert await claim(db, t0, kinds=["sla_check"]) == [sla]
    assert (await get(db, remind)).status == "pending"


async def test_a_job_stuck_running_is_reclaimed_after_stale_after_and_its_old_claim_is_fenced(
    db: Database, t0: datetime
) -> None:
    job_id = await schedule(db, t0)
    assert await claim(db, t0) == [job_id]
    assert await claim(db, t0 + STALE) == []  # exactly stale_after: still its worker's
    assert await claim(db, t0 + STALE + timedelta(seconds=1)) == [job_id]
    job = await get(db, job_id)
    assert (job.attempts, job.claimed_at) == (2, t0 + STALE + timedelta(seconds=1))

    async with db.transaction() as s:
        jobs = DueJobRepository(s)
        # The first worker wakes up: its attempt is over, nothing it says counts.
        assert not await jobs.mark_done(job_id, t0, attempt=1)
        assert not await jobs.mark_retry(job_id, "late", t0, attempt=1)
        assert not await jobs.mark_failed(job_id, "late", t0, attempt=1)
        assert await jobs.mark_retry(job_id, "boom", t0 + timedelta(hours=1), attempt=2)
    job = await get(db, job_id)
    assert (job.status, job.due_at, job.last_error, job.claimed_at) == ("pending", t0 + timedelta(hours=1), "boom", None)

    assert await claim(db, t0 + timedelta(hours=1)) == [job_id]
    async with db.transaction() as s:
        jobs = DueJobRepository(s)
        assert await jobs.mark_failed(job_id, "boom again", t0, attempt=3)
        assert not await jobs.mark_done(job_id, t0)  # settled: nothing moves it any more
    job = await get(db, job_id)
    assert (job.status, job.attempts, job.last_error, job.finished_at) == ("failed", 3, "boom again", t0)
    assert await claim(db, t0 + timedelta(days=1)) == []


async def test_has_unfinished_sees_pending_and_running_only(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        assert not await DueJobRepository(s).has_unfinished("remind")
    job_id = await schedule(db, t0)
    await claim(db, t0)
    async with db.transaction() as s:
        assert await DueJobRepository(s).has_unfinished("remind")
        assert not await DueJobRepository(s).has_unfinished("sla_check")
        await DueJobRepository(s).mark_done(job_id, t0)
    async with db.transaction() as s:
        assert not await DueJobRepository(s).has_unfinished("remind")


async def test_concurrent_claimers_on_postgresql_take_disjoint_jobs(pg_db: Database, t0: datetime) -> None:
    ids = {await schedule(pg_db, t0) for _ in range(60)}
    taken: list[list[int]] = [[] for _ in range(4)]

    async def drain(n: int) -> None:
        while batch := await claim(pg_db, t0, limit=3):
            taken[n] += batch
            await asyncio.sleep(0)  # let the others in between claims

    await asyncio.gather(*(drain(n) for n in range(4)))
    every = [job for batch in taken for job in batch]
    assert sorted(every) == sorted(ids)  # each job once, none twice
    assert sum(1 for batch in taken if batch) > 1


async def test_a_claim_on_postgresql_skips_a_job_whose_row_is_locked(pg_db: Database, t0: datetime) -> None:
    """A job whose transaction is still running (its row locked by mark_done) is neither
    waited for nor taken, even long after stale_after."""
    busy = await schedule(pg_db, t0)
    free = await schedule(pg_db, t0, due=timedelta(seconds=1))
    assert await claim(pg_db, t0) == [busy]
    async with pg_db.transaction() as running:
        assert await DueJobRepository(running).mark_done(busy, t0, attempt=1)
        later = t0 + STALE * 10
        assert await asyncio.wait_for(claim(pg_db, later), 10) == [free]
    assert (await get(pg_db, busy)).status == "done"
