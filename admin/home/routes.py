from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import ConsoleStaff, DbSession
from admin.pages import render
from bot.services.organisations import list_organisations


def home_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    async def home(request: Request, me: ConsoleStaff, s: DbSession) -> HTMLResponse:
        rows = await list_organisations(s, scope=me.scope)
        top = rows[0].depth if rows else 0
        return render(request, "home/index.html", me=me, organisations=rows, top=top)

    return router
