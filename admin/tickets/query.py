"""The list filters, read the same way from the API's query and the console's GET form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff import StaffPrincipal
from bot.services.ticket_views import TicketPage, find_tickets, staff_id_of
from flows.lifecycles import TICKET_STATES

STATUS_CHOICES = ("open", *TICKET_STATES)
NOBODY = -1  # an assignee filter naming no account: matches nothing, rather than everything


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: str | None = None  # a status, several joined by ",", or "open"
    queue: int | None = None
    category: str | None = None
    assignee: str | None = None  # "me", "none" (unassigned) or a username
    q: str | None = None
    older_than_hours: int | None = None
    limit: int = 50
    offset: int = 0
    overdue: bool = False  # only tickets past a deadline now


def _statuses(value: str | None) -> list[str] | None:
    if not value:
        return None
    wanted = [v.strip() for v in value.split(",") if v.strip() in STATUS_CHOICES]
    return wanted or None


async def run(s: AsyncSession, me: StaffPrincipal, query: ListQuery, *, now: datetime) -> TicketPage:
    assignee: int | None = None
    if query.assignee == "me":
        assignee = me.id
    elif query.assignee == "none":
        assignee = 0
    elif query.assignee:
        assignee = await staff_id_of(s, query.assignee) or NOBODY
    statuses = _statuses(query.status)
    return await find_tickets(
        s,
        me.scope,
        now=now,
        status=statuses[0] if statuses and len(statuses) == 1 else statuses,
        queue_id=query.queue,
        category=query.category or None,
        assignee_id=assignee,
        q=(query.q or "").strip() or None,
        older_than=now - timedelta(hours=query.older_than_hours) if query.older_than_hours else None,
        overdue=query.overdue,
        limit=query.limit,
        offset=query.offset,
    )
