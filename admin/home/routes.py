from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import AppContainer, ConsoleStaff, DbSession
from admin.pages import render
from bot.services.campaigns import running_campaigns
from bot.services.interviews import calls_waiting
from bot.services.organisations import list_organisations
from bot.services.ticket_views import work_counts


def home_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    async def home(request: Request, me: ConsoleStaff, s: DbSession, container: AppContainer) -> HTMLResponse:
        rows = await list_organisations(s, scope=me.scope)
        top = rows[0].depth if rows else 0
        # What waits first: a member of staff opens the console to work, not to read who they are.
        work = await work_counts(s, me.scope, staff_id=me.id, now=container.clock())
        calls = await calls_waiting(s, me.scope)
        running = await running_campaigns(s, me.scope)
        return render(
            request, "home/index.html", me=me, organisations=rows, top=top, work=work, calls=calls, running=running
        )

    return router
