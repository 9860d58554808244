"""/console/calls: whom to call (every role reads it, in scope; phones masked but for
admins), and for admins and staff: show a number to call (audited), run the interview
(/console/calls/{m<member>|r<respondent>}/interview), record a call that led to none."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.auth.deps import AppContainer, ConsoleHandler, ConsoleStaff, DbSession
from admin.pages import render
from bot.services import interviews
from bot.services.catalog import category_labels
from bot.services.interviews import OUTCOME_NAMES, InterviewError, InterviewView
from bot.services.staff import StaffPrincipal

PAGE = 50
Key = Annotated[str, Path(pattern=r"^[mr]\d{1,18}$")]


def _refused(request: Request, me: StaffPrincipal, exc: InterviewError) -> HTMLResponse:
    status = 404 if str(exc) == interviews.NOT_FOUND else 400
    return render(request, "error.html", me=me, message=str(exc), status_code=status)


def calls_router() -> APIRouter:
    router = APIRouter(prefix="/console/calls", include_in_schema=False)

    async def page(
        request: Request, me: StaffPrincipal, container: AppContainer, s: DbSession, view: InterviewView,
        number: str | None = None,
    ) -> HTMLResponse:  # fmt: skip
        return render(
            request, "calls/interview.html", me=me, v=view, number=number, OUTCOMES=OUTCOME_NAMES,
            CATEGORY=await category_labels(s, container.flows),
        )  # fmt: skip

    @router.get("", response_class=HTMLResponse)
    async def call_list(
        request: Request,
        me: ConsoleStaff,
        s: DbSession,
        container: AppContainer,
        page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    ) -> HTMLResponse:
        found = await interviews.call_list(s, me, limit=PAGE, offset=(page_no - 1) * PAGE)
        return render(
            request, "calls/list.html", me=me, found=found, OUTCOMES=OUTCOME_NAMES,
            CATEGORY=await category_labels(s, container.flows), page=page_no,
            pages=max(1, -(-found.others_total // PAGE)), page_url=lambda n: f"/console/calls?page={n}",
        )  # fmt: skip

    @router.get("/{key}/interview", response_class=HTMLResponse)
    async def show(
        request: Request, key: Key, me: ConsoleHandler, s: DbSession, container: AppContainer
    ) -> HTMLResponse:
        try:
            view = await interviews.interview(s, me, key, runtime=container.runtime)
        except InterviewError as exc:
            return _refused(request, me, exc)
        return await page(request, me, container, s, view)

    @router.post("/{key}/number", response_class=HTMLResponse)
    async def number(
        request: Request, key: Key, me: ConsoleHandler, s: DbSession, container: AppContainer
    ) -> HTMLResponse:
        try:
            phone = await interviews.reveal_number(s, me, key, now=container.clock())
            view = await interviews.interview(s, me, key, runtime=container.runtime)
        except InterviewError as exc:
            return _refused(request, me, exc)
        return await page(request, me, container, s, view, number=phone or "—")

    @router.post("/{key}/interview/start", response_class=HTMLResponse)
    async def start(
        request: Request, key: Key, me: ConsoleHandler, s: DbSession, container: AppContainer
    ) -> HTMLResponse:
        try:
            view = await interviews.start_interview(s, me, key, runtime=container.runtime, now=container.clock())
        except InterviewError as exc:
            return _refused(request, me, exc)
        return await page(request, me, container, s, view)

    @router.post("/{key}/interview/answer", response_class=HTMLResponse)
    async def answer(
        request: Request,
        key: Key,
        me: ConsoleHandler,
        s: DbSession,
        container: AppContainer,
        seen: Annotated[str, Form(max_length=64)],
        answer: Annotated[str, Form(max_length=4096)] = "",
        choice: Annotated[str, Form(max_length=8)] = "",
    ) -> HTMLResponse:
        # A clicked option (its number, as a chat user would type it) or the typed words.
        said = choice or answer
        try:
            view = await interviews.answer(
                s, me, key, said, seen=seen, runtime=container.runtime, now=container.clock()
            )
        except InterviewError as exc:
            return _refused(request, me, exc)
        return await page(request, me, container, s, view)

    @router.post("/{key}/outcome", response_class=HTMLResponse)
    async def outcome(
        request: Request,
        key: Key,
        me: ConsoleHandler,
        s: DbSession,
        container: AppContainer,
        outcome: Annotated[str, Form(max_length=32)],
        note: Annotated[str, Form(max_length=interviews.MAX_NOTE)] = "",
    ) -> Response:
        try:
            await interviews.record_outcome(s, me, key, outcome, note=note, now=container.clock())
        except InterviewError as exc:
            return _refused(request, me, exc)
        return RedirectResponse("/console/calls", status_code=303)

    return router
