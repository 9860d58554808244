"""Ticket queues: where an organisation's tickets wait, with their service levels.

Routing picks, for a ticket's organisation, category and kind, the most specific matching
queue of that organisation, else of its nearest ancestor that has one.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import upsert_insert
from storage.models import Organisation, TicketQueue
from storage.repositories.organisations import OrganisationRepository

DEFAULT_CODE = "default"


def matches(queue: TicketQueue, category: str | None, kind: str) -> bool:
    """None in `categories` / `kinds` means any; a ticket without a category matches only
    queues that take any category."""
    if queue.categories is not None and category not in queue.categories:
        return False
    return queue.kinds is None or kind in queue.kinds


def specificity(queue: TicketQueue) -> tuple[int, int, int]:
    """Sort key, most specific first: more constrained fields, then narrower lists, then the
    older queue (so adding a queue never silently takes an older one's tickets)."""
    constrained = (queue.categories is not None) + (queue.kinds is not None)
    width = len(queue.categories or ()) + len(queue.kinds or ())
    return (-constrained, width, queue.id)


class QueueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, queue_id: int) -> TicketQueue | None:
        return await self.session.get(TicketQueue, queue_id)

    async def create(
        self,
        *,
        organisation_id: int,
        code: str,
        name: str,
        first_response_minutes: int,
        resolution_minutes: int,
        categories: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        priority: int = 2,
        now: datetime,
    ) -> TicketQueue:
        queue = TicketQueue(
            organisation_id=organisation_id,
            code=code,
            name=name,
            categories=list(categories) if categories is not None else None,
            kinds=list(kinds) if kinds is not None else None,
            priority=priority,
            first_response_minutes=first_response_minutes,
            resolution_minutes=resolution_minutes,
            created_at=now,
            updated_at=now,
        )
        self.session.add(queue)
        await self.session.flush()
        return queue

    async def ensure_default(
        self, *, organisation_id: int, name: str, first_response_minutes: int, resolution_minutes: int, now: datetime
    ) -> TicketQueue:
        """The organisation's "default" queue (any category, any kind), made if missing.

        ON CONFLICT: two tickets of a queueless organisation opened at once must not fail
        one of their turns on the unique (organisation, code)."""
        statement = (
            upsert_insert(self.session, TicketQueue.__table__)
            .values(
                organisation_id=organisation_id,
                code=DEFAULT_CODE,
                name=name,
                categories=None,
                kinds=None,
                priority=2,
                first_response_minutes=first_response_minutes,
                resolution_minutes=resolution_minutes,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["organisation_id", "code"])
        )
        await self.session.execute(statement)
        queue = await self.by_code(organisation_id, DEFAULT_CODE)
        assert queue is not None  # inserted now or before
        return queue

    async def by_code(self, organisation_id: int, code: str) -> TicketQueue | None:
        return await self.session.scalar(
            select(TicketQueue).where(TicketQueue.organisation_id == organisation_id, TicketQueue.code == code)
        )

    async def for_organisation(self, organisation_id: int) -> list[TicketQueue]:
        return await self.for_organisations([organisation_id])

    async def for_organisations(self, organisation_ids: Collection[int]) -> builtins.list[TicketQueue]:
        rows = await self.session.scalars(
            select(TicketQueue)
            .where(TicketQueue.organisation_id.in_(list(organisation_ids)))
            .order_by(TicketQueue.organisation_id, TicketQueue.code)
        )
        return list(rows)

    async def route(
        self, organisation_id: int, category: str | None, kind: str, *, prefer_code: str | None = None
    ) -> TicketQueue | None:
        """The most specific queue of the organisation matching `category` and `kind`, else
        of its nearest ancestor with a match; None when no organisation on the way has one.
        `prefer_code` (the queue a flow names) wins among the matches of one organisation."""
        organisation = await self.session.get(Organisation, organisation_id)
        if organisation is None:
            return None
        chain = await OrganisationRepository(self.session).chain(organisation)
        queues = await self.for_organisations([o.id for o in chain])
        for level in chain:
            candidates = [q for q in queues if q.organisation_id == level.id and matches(q, category, kind)]
            if not candidates:
                continue
            preferred = [q for q in candidates if prefer_code is not None and q.code == prefer_code]
            return (preferred or sorted(candidates, key=specificity))[0]
        return None
