"""/api/v1/tickets and /api/v1/queues: the same reads and actions as the console's pages.

Every route takes the caller's scope: a ticket outside it answers 404, as one that does
not exist. Viewers read; acting needs admin or staff (403). Errors carry the service's
bilingual message: 409 for a stale version or a move the status does not allow, 422 for
an empty text or a colleague who cannot take the ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from admin.auth.deps import AppContainer, CurrentHandler, CurrentStaff, DbSession
from admin.tickets import convert, query
from admin.tickets.actions import Action, TicketNotFound, perform
from admin.tickets.schemas import (
    AssignIn,
    MessageIn,
    NoteIn,
    QueueOverview,
    ReopenIn,
    ResolveIn,
    StartIn,
    TicketDetail,
    TicketList,
)
from bot.services.staff import StaffPrincipal
from bot.services.ticket_figures import ticket_figures
from bot.services.ticket_views import queue_counts, ticket_detail
from bot.services.tickets import IllegalMove, NotPermitted, StaleTicket, TicketError

NOT_FOUND = "没有这个工单 no such ticket"
_ERRORS: dict[int, dict[str, Any]] = {
    404: {"description": "No such ticket in your organisation's scope"},
    403: {"description": "A viewer cannot act, or the service refused who acts"},
    409: {"description": "The ticket changed since `version`, or its status does not allow this"},
    422: {"description": "An empty text, or a colleague who cannot take the ticket"},
}


def raise_for(exc: Exception) -> NoReturn:
    if isinstance(exc, TicketNotFound):
        raise HTTPException(404, NOT_FOUND) from exc
    if isinstance(exc, StaleTicket | IllegalMove):
        raise HTTPException(409, str(exc)) from exc
    if isinstance(exc, NotPermitted):
        raise HTTPException(403, str(exc)) from exc
    if isinstance(exc, TicketError):
        raise HTTPException(422, str(exc)) from exc
    raise exc


async def _detail(s: DbSession, me: StaffPrincipal, ticket_id: int, now: datetime) -> TicketDetail:
    view = await ticket_detail(s, me.scope, ticket_id, now=now, full_phone=me.is_admin)
    if view is None:
        raise HTTPException(404, NOT_FOUND)
    return convert.ticket_detail(view)


def tickets_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["tickets"])

    @router.get("/tickets", response_model=TicketList)
    async def list_tickets(
        me: CurrentStaff,
        s: DbSession,
        container: AppContainer,
        status: Annotated[
            str | None, Query(description='a status, several joined by ",", or "open" for every open one')
        ] = None,
        queue: Annotated[int | None, Query(description="a queue id (GET /api/v1/queues)")] = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        assignee: Annotated[str | None, Query(max_length=64, description='"me", "none" or a username')] = None,
        q: Annotated[str | None, Query(max_length=200, description="every word must appear in the text")] = None,
        older_than_hours: Annotated[int | None, Query(ge=1, le=24 * 366)] = None,
        overdue: Annotated[bool, Query(description="only tickets past a deadline now")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> TicketList:
        if status and any(v.strip() not in query.STATUS_CHOICES for v in status.split(",")):
            raise HTTPException(422, f"未知的状态 unknown status: one of {', '.join(query.STATUS_CHOICES)}")
        wanted = query.ListQuery(status, queue, category, assignee, q, older_than_hours, limit, offset, overdue)
        page = await query.run(s, me, wanted, now=container.clock())
        return TicketList(
            items=[convert.ticket_read(r) for r in page.rows], total=page.total, limit=page.limit, offset=page.offset
        )

    @router.get("/tickets/{ticket_id}", response_model=TicketDetail, responses={404: _ERRORS[404]})
    async def get_ticket(ticket_id: int, me: CurrentStaff, s: DbSession, container: AppContainer) -> TicketDetail:
        return await _detail(s, me, ticket_id, container.clock())

    async def act(
        s: DbSession, me: StaffPrincipal, container: AppContainer, ticket_id: int, action: Action, body: BaseModel,
        *, text: str | None = None, user: str | None = None,
    ) -> TicketDetail:  # fmt: skip
        now = container.clock()
        try:
            version = getattr(body, "version", None)
            await perform(
                s, me, ticket_id, action, now=now, version=version, text=text, user=user,
                config=container.settings.tickets,
            )
        except (TicketNotFound, TicketError) as exc:
            raise_for(exc)
        return await _detail(s, me, ticket_id, now)

    responses: dict[int | str, dict[str, Any]] = {k: v for k, v in _ERRORS.items()}

    @router.post("/tickets/{ticket_id}/assign", response_model=TicketDetail, responses=responses)
    async def assign(ticket_id: int, body: AssignIn, me: CurrentHandler, s: DbSession, c: AppContainer) -> TicketDetail:
        """Give the ticket to a colleague (or yourself) in your scope who can handle it."""
        return await act(s, me, c, ticket_id, "assign", body, user=body.user)

    @router.post("/tickets/{ticket_id}/start", response_model=TicketDetail, responses=responses)
    async def start(ticket_id: int, body: StartIn, me: CurrentHandler, s: DbSession, c: AppContainer) -> TicketDetail:
        return await act(s, me, c, ticket_id, "start", body)

    @router.post("/tickets/{ticket_id}/notes", response_model=TicketDetail, responses=responses)
    async def note(ticket_id: int, body: NoteIn, me: CurrentHandler, s: DbSession, c: AppContainer) -> TicketDetail:
        """An internal note, for colleagues only."""
        return await act(s, me, c, ticket_id, "note", body, text=body.text)

    @router.post("/tickets/{ticket_id}/messages", response_model=TicketDetail, responses=responses)
    async def message(
        ticket_id: int, body: MessageIn, me: CurrentHandler, s: DbSession, c: AppContainer
    ) -> TicketDetail:
        """A message to the respondent in their channel, through the outbox; the history entry
        says whether it was queued or why they cannot be reached."""
        return await act(s, me, c, ticket_id, "message", body, text=body.text)

    @router.post("/tickets/{ticket_id}/resolve", response_model=TicketDetail, responses=responses)
    async def resolve(
        ticket_id: int, body: ResolveIn, me: CurrentHandler, s: DbSession, c: AppContainer
    ) -> TicketDetail:
        return await act(s, me, c, ticket_id, "resolve", body, text=body.resolution)

    @router.post("/tickets/{ticket_id}/reopen", response_model=TicketDetail, responses=responses)
    async def reopen(
        ticket_id: int, me: CurrentHandler, s: DbSession, c: AppContainer, body: ReopenIn | None = None
    ) -> TicketDetail:
        body = body or ReopenIn()
        return await act(s, me, c, ticket_id, "reopen", body, text=body.reason)

    @router.get("/queues", response_model=QueueOverview)
    async def queues(
        me: CurrentStaff,
        s: DbSession,
        container: AppContainer,
        since: Annotated[datetime | None, Query(description="figures of tickets opened from then")] = None,
        until: Annotated[datetime | None, Query(description="… and before then")] = None,
    ) -> QueueOverview:
        """The queues holding your organisations' tickets, with counts and SLA state now, and
        the figures of the tickets opened in [since, until) per queue and per organisation."""
        counts = await queue_counts(s, me.scope, now=container.clock())
        figures = await ticket_figures(s, me.scope, since, until)
        per_queue = {f.key: f for f in figures.by_queue}
        return QueueOverview(
            queues=[convert.queue_read(c, per_queue.get(c.queue_id)) for c in counts],
            organisations=[convert.figures_read(f) for f in figures.by_organisation],
        )

    return router


__all__ = ["tickets_api_router"]
