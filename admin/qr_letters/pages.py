"""/console/respondents/letters: a form choosing respondents (category, tag, not following
yet) with how many match, and its POST making their personal QR codes and answering a
print-ready sheet (A4, one letter a page). Admins only: each new code is a call to WeChat
and a permanent code of the account's limited number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import AppContainer, ConsoleAdmin, DbSession
from admin.pages import render
from bot.services.catalog import category_labels
from bot.services.qr_letters import MAX_LETTERS, LetterFilter, count_recipients, make_letters, wechat_qr_maker


def _filter(category: str, tag: str, following: str) -> LetterFilter:
    return LetterFilter(category=category.strip() or None, tag=tag.strip() or None, not_following=following != "any")


def qr_letters_router() -> APIRouter:
    router = APIRouter(prefix="/console/respondents/letters", include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    async def choose(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        category: Annotated[str, Query(max_length=64)] = "",
        tag: Annotated[str, Query(max_length=64)] = "",
        following: Annotated[str, Query(pattern="^(no|any)$")] = "no",
    ) -> HTMLResponse:
        wanted = _filter(category, tag, following)
        filters = {"category": category, "tag": tag, "following": following}
        return render(
            request, "qr_letters/choose.html", me=me, filters=filters,
            matching=await count_recipients(s, me, wanted), max_letters=MAX_LETTERS,
            CATEGORY=await category_labels(s, container.flows),
        )  # fmt: skip

    @router.post("", response_class=HTMLResponse)
    async def make(
        request: Request,
        me: ConsoleAdmin,
        container: AppContainer,
        category: Annotated[str, Form(max_length=64)] = "",
        tag: Annotated[str, Form(max_length=64)] = "",
        following: Annotated[str, Form(pattern="^(no|any)$")] = "no",
    ) -> HTMLResponse:
        # No DbSession: the service runs its own short transactions around WeChat's calls.
        settings = container.settings
        batch = await make_letters(
            container.db, me, _filter(category, tag, following), box=container.secrets,
            make_qr=wechat_qr_maker(container.http, container.tokens, settings.wechat_api_base),
            flows=container.flows, now=container.clock(),
        )  # fmt: skip
        return render(request, "qr_letters/sheet.html", me=me, batch=batch, max_letters=MAX_LETTERS)

    return router
