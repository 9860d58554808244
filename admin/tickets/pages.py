"""The console's ticket pages: /console/tickets (my queues, filters, the list),
/console/tickets/{id} (the whole case and the forms to act on it), /console/queues.

Every form carries the CSRF token and the version the page showed. A form on a ticket
that changed meanwhile, or a move its status no longer allows, shows the ticket as it is
now with the reason, and changes nothing; a success redirects back (303) with a notice.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.auth.deps import AppContainer, ConsoleHandler, ConsoleStaff, DbSession
from admin.pages import render
from admin.tickets import labels, query
from admin.tickets.actions import ACTIONS, TicketNotFound, perform
from admin.tickets.api import NOT_FOUND
from bot.services.catalog import category_labels
from bot.services.staff import StaffPrincipal, list_users
from bot.services.ticket_figures import ticket_figures
from bot.services.ticket_views import colleagues_for, queue_counts, ticket_detail
from bot.services.tickets import IllegalMove, NotPermitted, StaleTicket, TicketError

PAGE = 30
LABELS: dict[str, Any] = {
    "STATUS": labels.STATUS,
    "KIND": labels.KIND,
    "PRIORITY": labels.PRIORITY,
    "EVENT": labels.EVENT,
    "OVERDUE": labels.OVERDUE,
    "AGES": labels.AGES,
    "age": labels.age,
    "duration": labels.duration,
    "rate": labels.rate,
}


def _status_for(exc: TicketError) -> int:
    if isinstance(exc, StaleTicket | IllegalMove):
        return 409
    if isinstance(exc, NotPermitted):
        return 403
    return 422


def _not_found(request: Request, me: StaffPrincipal) -> HTMLResponse:
    return render(request, "error.html", me=me, message=NOT_FOUND, status_code=404)


async def _detail_page(
    request: Request,
    me: StaffPrincipal,
    s: DbSession,
    container: AppContainer,
    ticket_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = container.clock()
    view = await ticket_detail(s, me.scope, ticket_id, now=now, full_phone=me.is_admin)
    if view is None:
        return _not_found(request, me)
    colleagues = await colleagues_for(s, me.scope, ticket_id) if me.can_handle else []
    categories = await category_labels(s, container.flows)
    return render(
        request, "tickets/detail.html", me=me, t=view.ticket, view=view, colleagues=colleagues, now=now,
        notice=notice, error=error, status_code=status_code, CATEGORY=categories, **LABELS,
    )  # fmt: skip


def tickets_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/tickets", response_class=HTMLResponse)
    async def ticket_list(
        request: Request,
        me: ConsoleStaff,
        s: DbSession,
        container: AppContainer,
        status: Annotated[str, Query(max_length=200)] = "open",
        queue: Annotated[str, Query(max_length=20)] = "",
        category: Annotated[str, Query(max_length=64)] = "",
        assignee: Annotated[str, Query(max_length=64)] = "",
        age: Annotated[str, Query(max_length=10)] = "",
        q: Annotated[str, Query(max_length=200)] = "",
        overdue: Annotated[str, Query(max_length=5)] = "",
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> HTMLResponse:
        now = container.clock()
        # A GET form sends every field, empty ones too: empty means "any", not an error.
        wanted = query.ListQuery(
            status=status if status != "all" else None,
            queue=int(queue) if queue.isdigit() else None,
            category=category.strip() or None,
            assignee=assignee or None,
            q=q,
            older_than_hours=int(age) if age.isdigit() else None,
            limit=PAGE,
            offset=(page - 1) * PAGE,
            overdue=overdue == "1",
        )
        found = await query.run(s, me, wanted, now=now)
        queues = await queue_counts(s, me.scope, now=now)
        colleagues = await colleagues_in_scope(s, me)
        filters = {
            "status": status, "queue": queue, "category": category, "assignee": assignee, "age": age, "q": q,
            "overdue": "1" if overdue == "1" else "",
        }  # fmt: skip

        def page_url(n: int) -> str:
            return "/console/tickets?" + urlencode({**filters, "page": n})

        pages = max(1, -(-found.total // PAGE))
        return render(
            request, "tickets/list.html", me=me, found=found, queues=queues, filters=filters, colleagues=colleagues,
            page=page, pages=pages, page_url=page_url, now=now, STATUS_CHOICES=query.STATUS_CHOICES, **LABELS,
        )  # fmt: skip

    @router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
    async def ticket_page(
        request: Request,
        ticket_id: int,
        me: ConsoleStaff,
        s: DbSession,
        container: AppContainer,
        done: Annotated[str, Query(max_length=20)] = "",
        delivery: Annotated[str, Query(max_length=20)] = "",
    ) -> HTMLResponse:
        notice = labels.DONE.get(done)
        error = labels.UNREACHABLE if done == "message" and delivery == "unreachable" else None
        if error:
            notice = None
        return await _detail_page(request, me, s, container, ticket_id, notice=notice, error=error)

    @router.post("/tickets/{ticket_id}/{action}")
    async def ticket_action(
        request: Request,
        ticket_id: int,
        action: str,
        me: ConsoleHandler,
        s: DbSession,
        container: AppContainer,
        version: Annotated[int | None, Form()] = None,
        text: Annotated[str, Form(max_length=4000)] = "",
        user: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        if action not in ACTIONS:
            return _not_found(request, me)
        chosen = next(a for a in ACTIONS if a == action)  # the Literal, for the type checker
        try:
            done = await perform(
                s, me, ticket_id, chosen, now=container.clock(), version=version, text=text, user=user,
                config=container.settings.tickets,
            )
        except TicketNotFound:
            return _not_found(request, me)
        except TicketError as exc:
            return await _detail_page(
                request, me, s, container, ticket_id, error=str(exc), status_code=_status_for(exc)
            )
        back = {"done": done.action} | ({"delivery": done.delivery} if done.delivery == "unreachable" else {})
        return RedirectResponse(f"/console/tickets/{ticket_id}?{urlencode(back)}", status_code=303)

    @router.get("/queues", response_class=HTMLResponse)
    async def queues_page(request: Request, me: ConsoleStaff, s: DbSession, container: AppContainer) -> HTMLResponse:
        now = container.clock()
        counts = await queue_counts(s, me.scope, now=now)
        figures = await ticket_figures(s, me.scope)
        per_queue = {f.key: f for f in figures.by_queue}
        return render(
            request, "tickets/queues.html", me=me, counts=counts, per_queue=per_queue,
            organisations=figures.by_organisation, **LABELS,
        )  # fmt: skip

    return router


async def colleagues_in_scope(s: DbSession, me: StaffPrincipal) -> list[tuple[str, str]]:
    """(username, name) of the people a list may be filtered by: everyone in scope who can handle tickets."""
    return [(u.username, u.display_name or u.username) for u in await list_users(s, scope=me.scope)
            if not u.disabled and u.role in ("admin", "staff")]  # fmt: skip
