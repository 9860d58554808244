"""/console/respondents/import: upload → preview (nothing changes) → confirm (stored, audited).

The upload is kept server-side under a token bound to the login (bot.services.console_import);
the preview and the confirmation may reach any app process. Admins only: an import can only
put people into the admin's own organisation and those under it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.auth.deps import AppContainer, ConsoleAdmin, ConsoleForbidden, DbSession
from admin.pages import render
from bot.services.console_import import (
    HAS_ERRORS,
    MAX_BYTES,
    ImportFileError,
    confirm_upload,
    preview_upload,
    stage_upload,
)
from bot.services.organisations import list_organisations

SHOWN = 500  # rows listed per kind: a 100,000-row file of wrong rows would bury the page
_SLACK = 64 * 1024  # the multipart envelope around the file
TOO_LARGE = f"文件太大 file too large: 上限 the limit is {MAX_BYTES // 1024 // 1024} MB"


async def _declared_size(request: Request) -> None:
    # Refused before the body is read: the CSRF check would otherwise parse it all first.
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES + _SLACK:
        raise ConsoleForbidden(TOO_LARGE)


def respondent_import_router() -> APIRouter:
    router = APIRouter(prefix="/console/respondents/import", include_in_schema=False)

    async def upload_form(
        request: Request, me: ConsoleAdmin, s: DbSession, *, error: str | None = None
    ) -> HTMLResponse:
        return render(
            request, "respondent_import/upload.html", me=me, error=error,
            organisations=await list_organisations(s, scope=me.scope), max_mb=MAX_BYTES // 1024 // 1024,
            status_code=400 if error else 200,
        )  # fmt: skip

    @router.get("", response_class=HTMLResponse)
    async def start(request: Request, me: ConsoleAdmin, s: DbSession) -> HTMLResponse:
        return await upload_form(request, me, s)

    # Up to twice the limit, the page says the file is too large (_declared_size); beyond
    # that the body is refused unread (413).
    @router.post(
        "", response_class=HTMLResponse, dependencies=[Depends(_declared_size)], max_body_size=2 * MAX_BYTES
    )
    async def upload(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        file: Annotated[UploadFile, File()],
        organisation: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        content = await file.read(MAX_BYTES + 1)
        try:
            token = await stage_upload(s, me, filename=file.filename or "", content=content, now=container.clock())
        except ImportFileError as exc:
            return await upload_form(request, me, s, error=str(exc))
        query = f"token={token}" + (f"&organisation={organisation}" if organisation else "")
        return RedirectResponse(f"/console/respondents/import/preview?{query}", status_code=303)

    @router.get("/preview", response_class=HTMLResponse)
    async def show_preview(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        token: Annotated[str, Query(max_length=100)],
        organisation: Annotated[str, Query(max_length=64)] = "",
    ) -> HTMLResponse:
        try:
            seen = await preview_upload(
                s, me, token, organisation=organisation or None, flows=container.flows, now=container.clock()
            )
        except ImportFileError as exc:
            return await upload_form(request, me, s, error=str(exc))
        return render(
            request, "respondent_import/preview.html", me=me, seen=seen, plan=seen.plan, shown=SHOWN, refused=None
        )

    @router.post("/confirm", response_class=HTMLResponse)
    async def confirm(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        token: Annotated[str, Form(max_length=100)],
        organisation: Annotated[str, Form(max_length=64)] = "",
        skip_errors: Annotated[bool, Form()] = False,
    ) -> HTMLResponse:
        try:
            seen, result = await confirm_upload(
                s, me, token, organisation=organisation or None, skip_errors=skip_errors,
                flows=container.flows, now=container.clock(),
            )  # fmt: skip
        except ImportFileError as exc:
            if str(exc) == HAS_ERRORS:
                # Back to the same preview, with its wrong rows and the choice to skip them:
                # the file is still staged, and nothing was stored.
                try:
                    seen = await preview_upload(
                        s, me, token, organisation=organisation or None, flows=container.flows, now=container.clock()
                    )
                except ImportFileError:
                    return await upload_form(request, me, s, error=str(exc))
                return render(
                    request, "respondent_import/preview.html", me=me, seen=seen, plan=seen.plan, shown=SHOWN,
                    refused=str(exc), status_code=400,
                )  # fmt: skip
            return await upload_form(request, me, s, error=str(exc))
        return render(request, "respondent_import/done.html", me=me, seen=seen, result=result)

    return router
