"""/console/account — 我的账号 — for everyone logged in: who they are, and a form to change
their own password (the current one, then the new one twice). Reached from their name in the
page header. The rules are bot.services.staff.change_own_password's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from admin.auth.deps import AppContainer, ConsoleStaff, DbSession
from admin.pages import render
from bot.services.staff import StaffError, change_own_password

PasswordField = Annotated[str, Form(max_length=1024)]


def account_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/account", response_class=HTMLResponse)
    async def account_page(
        request: Request, me: ConsoleStaff, done: Annotated[str, Query(max_length=20)] = ""
    ) -> HTMLResponse:
        return render(request, "account/account.html", me=me, changed=done == "password", error=None)

    @router.post("/account/password", response_model=None)
    async def new_password(
        request: Request,
        me: ConsoleStaff,
        s: DbSession,
        container: AppContainer,
        current: PasswordField = "",
        password: PasswordField = "",
        password_again: PasswordField = "",
    ) -> HTMLResponse | RedirectResponse:
        try:
            await change_own_password(
                s, me, current=current, password=password, password_again=password_again, now=container.clock(),
                policy=container.settings.staff_policy,
            )  # fmt: skip
        except StaffError as error:
            # Committed all the same: a wrong current password counts towards the lockout.
            return render(request, "account/account.html", me=me, changed=False, error=str(error), status_code=422)
        return RedirectResponse("/console/account?done=password", status_code=303)

    return router
