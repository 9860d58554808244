"""Tickets and their append-only history. Reads for staff take a `Scope`; status changes
belong to bot/services/tickets.py, which alone moves a ticket through its lifecycle."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.lifecycles import TICKET_OPEN
from storage.dialects import upsert_insert
from storage.models import Respondent, Ticket, TicketEvent
from storage.repositories.organisations import Scope, in_scope

_OPEN = sorted(TICKET_OPEN)
MAX_LIMIT = 500


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a ticket list asks for; every field narrows it (None: no condition).

    `status` is one status, several, or "open" for every open one; `assignee` is a staff id,
    or 0 for unassigned tickets; `q` finds tickets whose text holds every word of it."""

    status: str | Collection[str] | None = None
    queue_id: int | None = None
    category: str | None = None
    assignee: int | None = None
    q: str | None = None
    older_than: datetime | None = None
    overdue_at: datetime | None = None  # only tickets past a deadline at this time

    def where(self, scope: Scope) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [in_scope(Ticket.organisation_id, scope)]
        if self.status is not None:
            statuses = [self.status] if isinstance(self.status, str) else list(self.status)
            if statuses == ["open"]:
                statuses = _OPEN
            clauses.append(Ticket.status.in_(statuses) if len(statuses) != 1 else Ticket.status == statuses[0])
        if self.queue_id is not None:
            clauses.append(Ticket.queue_id == self.queue_id)
        if self.category is not None:
            clauses.append(Ticket.category == self.category)
        if self.assignee is not None:
            clauses.append(Ticket.assignee_id.is_(None) if self.assignee == 0 else Ticket.assignee_id == self.assignee)
        if self.older_than is not None:
            clauses.append(Ticket.created_at < self.older_than)
        if self.overdue_at is not None:
            clauses.append(late_at(self.overdue_at))
        for word in (self.q or "").split():
            pattern = f"%{_like_escape(word)}%"
            # A word without case (Chinese) needs no ILIKE, which lowercases every row's text
            # first: on 100,000 tickets LIKE takes about half the time (bench/tickets.py).
            caseless = word.lower() == word.upper()
            clauses.append(
                Ticket.text.like(pattern, escape="\\") if caseless else Ticket.text.ilike(pattern, escape="\\")
            )
        return clauses


def late_at(now: datetime) -> ColumnElement[bool]:
    """Past a deadline at `now`: no first response by its due time, or not resolved by its own."""
    return or_(
        and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= now),
        Ticket.resolution_due_at <= now,
    )


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        organisation_id: int | None,
        queue_id: int | None,
        respondent_id: int,
        kind: str,
        text: str,
        status: str,
        priority: int,
        now: datetime,
        session_id: int | None = None,
        question_id: str | None = None,
        category: str | None = None,
        context: Mapping[str, Any] | None = None,
        dedup_key: str | None = None,
        first_response_due_at: datetime | None = None,
        resolution_due_at: datetime | None = None,
    ) -> Ticket | None:
        """The new ticket; None when `dedup_key` was used before (the same escalation
        delivered twice, or a second request while one is open)."""
        values = {
            "organisation_id": organisation_id,
            "queue_id": queue_id,
            "respondent_id": respondent_id,
            "session_id": session_id,
            "question_id": question_id,
            "category": category,
            "kind": kind,
            "text": text,
            "context": dict(context) if context is not None else None,
            "status": status,
            "priority": priority,
            "version": 1,
            "dedup_key": dedup_key,
            "first_response_due_at": first_response_due_at,
            "resolution_due_at": resolution_due_at,
            "reopen_count": 0,
            "escalation_level": 0,
            "created_at": now,
            "updated_at": now,
        }
        statement = (
            upsert_insert(self.session, Ticket.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(Ticket.__table__.c.id)
        )
        new_id = await self.session.scalar(statement)
        if new_id is None:
            return None
        return await self.session.get(Ticket, new_id)

    async def get(self, ticket_id: int, scope: Scope) -> Ticket | None:
        """The ticket, or None when it does not exist or lies outside `scope`."""
        return await self.session.scalar(
            select(Ticket).where(Ticket.id == ticket_id, in_scope(Ticket.organisation_id, scope))
        )

    async def lock(self, ticket_id: int) -> Ticket | None:
        """The ticket read afresh and locked until the transaction ends (PostgreSQL; SQLite
        has one writer at a time anyway), so a version check and the change that follows it
        cannot interleave with a colleague's."""
        return await self.session.scalar(
            select(Ticket).where(Ticket.id == ticket_id).with_for_update().execution_options(populate_existing=True)
        )

    async def by_dedup_key(self, dedup_key: str) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(Ticket.dedup_key == dedup_key))

    async def list(
        self,
        scope: Scope,
        *,
        status: str | Collection[str] | None = None,
        queue: int | None = None,
        category: str | None = None,
        assignee: int | None = None,
        q: str | None = None,
        older_than: datetime | None = None,
        overdue_at: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Ticket]:
        """Most urgent first (priority 1 … 4), then oldest first: what needs doing next.
        The filters are TicketFilter's (`queue` is a queue id)."""
        filters = TicketFilter(status, queue, category, assignee, q, older_than, overdue_at)
        query = (
            select(Ticket)
            .where(*filters.where(scope))
            .order_by(Ticket.priority, Ticket.created_at, Ticket.id)
            .limit(max(1, min(limit, MAX_LIMIT)))
            .offset(max(0, offset))
        )
        return builtins.list(await self.session.scalars(query))

    async def count(self, scope: Scope, filters: TicketFilter | None = None) -> int:
        query = select(func.count()).select_from(Ticket).where(*(filters or TicketFilter()).where(scope))
        return int(await self.session.scalar(query) or 0)

    async def counts(self, scope: Scope) -> dict[tuple[int | None, str], int]:
        """Tickets per (queue id, status) in `scope`."""
        rows = await self.session.execute(
            select(Ticket.queue_id, Ticket.status, func.count())
            .where(in_scope(Ticket.organisation_id, scope))
            .group_by(Ticket.queue_id, Ticket.status)
        )
        return {(queue_id, status): int(n) for queue_id, status, n in rows}

    async def open_for_respondent(self, respondent_id: int, kind: str | None) -> Ticket | None:
        """The person's newest open ticket of `kind` (None: of any kind)."""
        query = select(Ticket).where(Ticket.respondent_id == respondent_id, Ticket.status.in_(_OPEN))
        if kind is not None:
            query = query.where(Ticket.kind == kind)
        return await self.session.scalar(query.order_by(Ticket.id.desc()).limit(1))

    async def open_for_session(self, session_id: int) -> Ticket | None:
        """The first open ticket raised by an answer in this survey session."""
        query = select(Ticket).where(Ticket.session_id == session_id, Ticket.status.in_(_OPEN))
        return await self.session.scalar(query.order_by(Ticket.id).limit(1))

    async def count_for_respondent(self, respondent_id: int, kind: str) -> int:
        query = select(func.count()).where(Ticket.respondent_id == respondent_id, Ticket.kind == kind)
        return int(await self.session.scalar(query) or 0)

    async def due_for_sla(self, now: datetime, *, limit: int = 100, after_id: int = 0) -> builtins.list[int]:
        """Ids of open tickets past a due time: first response not given by its due time, or
        not resolved by its resolution due time. In id order, from `after_id` on."""
        breached = or_(
            and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= now),
            Ticket.resolution_due_at <= now,
        )
        # A try-out's ticket (simulator, terminal) is never escalated to a parent organisation.
        tried_out = exists().where(Respondent.id == Ticket.respondent_id, Respondent.is_test.is_(True))
        rows = await self.session.scalars(
            select(Ticket.id)
            .where(Ticket.status.in_(_OPEN), breached, Ticket.id > after_id, ~tried_out)
            .order_by(Ticket.id)
            .limit(limit)
        )
        return builtins.list(rows)

    async def add_event(
        self,
        ticket_id: int,
        *,
        at: datetime,
        actor: str,
        kind: str,
        staff_id: int | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        text: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> TicketEvent:
        event = TicketEvent(
            ticket_id=ticket_id,
            at=at,
            actor=actor,
            staff_id=staff_id,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            text=text,
            data=dict(data) if data is not None else None,
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, ticket_id: int) -> builtins.list[TicketEvent]:
        """The ticket's history, oldest first."""
        rows = await self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
        )
        return builtins.list(rows)
