"""/console/audit: the audit log for admins (others: the 403 page), newest first.

The filters are a GET form, so a filtered page can be bookmarked or shared; its dates are
days in Asia/Shanghai, "until" included.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import ConsoleAdmin, DbSession
from admin.pages import SHANGHAI, render
from bot.services.audit import AuditFilter, audit_entries

PAGE = 50


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None  # a browser without a date picker may send anything: ignore, as empty


def audit_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/audit", response_class=HTMLResponse)
    async def audit_page(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        action: Annotated[str, Query(max_length=64)] = "",
        actor: Annotated[str, Query(max_length=200)] = "",
        since: Annotated[str, Query(max_length=10)] = "",
        until: Annotated[str, Query(max_length=10)] = "",
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> HTMLResponse:
        first, last = _day(since), _day(until)
        wanted = AuditFilter(
            action=action.strip() or None,
            actor=actor.strip() or None,
            since=datetime.combine(first, time(), SHANGHAI) if first else None,
            until=datetime.combine(last + timedelta(days=1), time(), SHANGHAI) if last else None,
        )
        found = await audit_entries(s, me, wanted, limit=PAGE, offset=(page - 1) * PAGE)
        filters = {"action": action, "actor": actor, "since": since, "until": until}

        def page_url(n: int) -> str:
            return "/console/audit?" + urlencode({**filters, "page": n})

        pages = max(1, -(-found.total // PAGE))
        return render(
            request, "audit/list.html", me=me, found=found, filters=filters, page=page, pages=pages,
            page_url=page_url,
        )  # fmt: skip

    return router


__all__ = ["audit_pages_router"]
