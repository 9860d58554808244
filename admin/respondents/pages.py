"""The console's respondent pages: /console/respondents (search and list) and
/console/respondents/{id} (one person's sessions, answers and tickets). Read-only, so
every role sees them; a person outside the caller's scope is the 404 page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import AppContainer, ConsoleStaff, DbSession
from admin.pages import render
from admin.respondents.api import NOT_FOUND
from admin.tickets import labels
from bot.services.catalog import category_labels
from bot.services.respondent_views import find_respondents, respondent_history

PAGE = 30


def respondents_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/respondents", response_class=HTMLResponse)
    async def respondent_list(
        request: Request,
        me: ConsoleStaff,
        s: DbSession,
        container: AppContainer,
        q: Annotated[str, Query(max_length=100)] = "",
        category: Annotated[str, Query(max_length=64)] = "",
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> HTMLResponse:
        # A GET form sends every field, empty ones too: empty means "any".
        found = await find_respondents(
            s, me.scope, full_phone=me.is_admin, q=q, category=category.strip() or None,
            limit=PAGE, offset=(page - 1) * PAGE,
        )  # fmt: skip
        filters = {"q": q, "category": category}

        def page_url(n: int) -> str:
            return "/console/respondents?" + urlencode({**filters, "page": n})

        return render(
            request, "respondents/list.html", me=me, found=found, filters=filters, page=page,
            pages=max(1, -(-found.total // PAGE)), page_url=page_url,
            CATEGORY=await category_labels(s, container.flows),
        )  # fmt: skip

    @router.get("/respondents/{respondent_id}", response_class=HTMLResponse)
    async def respondent_page(
        request: Request, respondent_id: int, me: ConsoleStaff, s: DbSession, container: AppContainer
    ) -> HTMLResponse:
        history = await respondent_history(s, me.scope, respondent_id, full_phone=me.is_admin)
        if history is None:
            return render(request, "error.html", me=me, message=NOT_FOUND, status_code=404)
        return render(
            request, "respondents/detail.html", me=me, h=history, r=history.person,
            CATEGORY=await category_labels(s, container.flows), STATUS=labels.STATUS, KIND=labels.KIND,
        )  # fmt: skip

    return router
