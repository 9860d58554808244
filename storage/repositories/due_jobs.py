"""Due jobs: work to do at a time, claimed and settled by the scheduler.

A claim is fenced by the attempt it started: every status change after it names that
attempt, so a worker whose job was reclaimed as stale (a second claim counted one more
attempt) changes nothing any more, even when it wakes up and tries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import dialect_name, upsert_insert
from storage.models import DueJob
from storage.models.due_job import DEDUP_KEY_LENGTH

KIND_LENGTH = 32  # the column's width


class DueJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def schedule(
        self,
        kind: str,
        payload: Mapping[str, Any],
        due_at: datetime,
        *,
        dedup_key: str | None = None,
        now: datetime,
    ) -> int | None:
        """Add a job due at `due_at`; its id, or None when `dedup_key` was scheduled before
        (in any status: a follow-up already done is not done again)."""
        if not isinstance(kind, str) or not 0 < len(kind.strip()) <= KIND_LENGTH:
            raise ValueError(f"a due job needs a kind of 1…{KIND_LENGTH} characters")
        if not isinstance(payload, Mapping):
            raise TypeError("a due job's payload must be a mapping")
        if dedup_key is not None and not 0 < len(dedup_key) <= DEDUP_KEY_LENGTH:
            raise ValueError(f"dedup_key must be 1…{DEDUP_KEY_LENGTH} characters")
        table = DueJob.__table__
        statement = (
            upsert_insert(self.session, table)
            .values(
                kind=kind,
                payload=dict(payload),
                due_at=due_at,
                status="pending",
                attempts=0,
                dedup_key=dedup_key,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(table.c.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get(self, job_id: int) -> DueJob | None:
        return await self.session.get(DueJob, job_id, populate_existing=True)

    async def has_unfinished(self, kind: str) -> bool:
        """Whether a job of `kind` is pending or running (a recurring job's chain is alive)."""
        found = await self.session.scalar(
            select(
                exists().where(DueJob.kind == kind, DueJob.status.in_(("pending", "running")))
            )
        )
        return bool(found)

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        stale_after: timedelta,
        kinds: Collection[str] | None = None,
    ) -> list[DueJob]:
        """Take up to `limit` jobs that are due, or stuck in "running" for longer than
        `stale_after` (their worker died), and mark them "running"; one attempt more each.

        PostgreSQL: the rows are picked with FOR UPDATE SKIP LOCKED inside the UPDATE, so
        concurrent workers take disjoint jobs without waiting for each other, and a job whose
        row is locked by the transaction running it is never taken from under it. SQLite:
        the single UPDATE … RETURNING is atomic, and embedded mode runs one worker anyway.
        `kinds` limits the claim to the kinds this worker can run; the rest wait for one
        that can.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        due = or_(
            and_(DueJob.status == "pending", DueJob.due_at <= now),
            and_(DueJob.status == "running", DueJob.claimed_at < now - stale_after),
        )
        pick = select(DueJob.id).where(due)
        if kinds is not None:
            pick = pick.where(DueJob.kind.in_(list(kinds)))
        pick = pick.order_by(DueJob.due_at, DueJob.id).limit(limit)
        if dialect_name(self.session) == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(DueJob)
            .where(DueJob.id.in_(pick.scalar_subquery()))
            .values(status="running", claimed_at=now, attempts=DueJob.attempts + 1)
            .returning(DueJob)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        jobs = list((await self.session.scalars(statement)).all())
        jobs.sort(key=lambda job: (job.due_at, job.id))
        return jobs

    async def mark_done(self, job_id: int, now: datetime, *, attempt: int | None = None) -> bool:
        """Done, if it is still running (as claimed by `attempt`, when given); whether it was.

        Called in the job's own transaction before or after its effects: on PostgreSQL the
        UPDATE also locks the row until that transaction ends, so no stale-claim can take
        the job while it runs."""
        return await self._settle(
            job_id, attempt, status="done", finished_at=now, claimed_at=None, last_error=None
        )

    async def mark_retry(
        self, job_id: int, error: str, next_at: datetime, *, attempt: int | None = None
    ) -> bool:
        """Back to "pending", due again at `next_at`."""
        return await self._settle(
            job_id, attempt, status="pending", due_at=next_at, last_error=error, claimed_at=None
        )

    async def mark_failed(
        self, job_id: int, error: str, now: datetime, *, attempt: int | None = None
    ) -> bool:
        """Given up: "failed" with the last error, for an operator to look at."""
        return await self._settle(
            job_id, attempt, status="failed", finished_at=now, last_error=error, claimed_at=None
        )

    async def _settle(self, job_id: int, attempt: int | None, **values: Any) -> bool:
        guard = [DueJob.id == job_id, DueJob.status == "running"]
        if attempt is not None:
            guard.append(DueJob.attempts == attempt)
        result = await self.session.execute(
            update(DueJob).where(*guard).values(**values).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
