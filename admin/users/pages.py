"""/console/users — 员工账号 — for admins (others: the 403 page): the accounts of their
organisation and those under it, a form to create one, and per account
(/console/users/{username}) forms to change its role or organisation, set a new password
and disable it. The rules (scope, no leak, not oneself) are bot.services.staff_console's.

Every form is a POST with the session's CSRF token; a success redirects (303) back to a
page that says what was done, a refusal shows the service's message and changed nothing.
Passwords are only ever form fields, never in a URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from admin.auth.deps import AppContainer, ConsoleAdmin, DbSession
from admin.pages import render
from bot.services import staff_console
from bot.services.staff import StaffError, StaffPrincipal, StaffRead
from bot.services.staff_console import AccountNotFound

# What a redirect after a success says (?done=…); anything else says nothing.
DONE = {
    "created": ("已创建账号", "Account created"),
    "disabled": ("已停用账号，其登录已全部退出", "Account disabled; its sessions have ended"),
    "enabled": ("已启用账号，可以再登录", "Account enabled; it can log in again"),
    "password": ("已重设密码，其登录已全部退出", "Password reset; its sessions have ended"),
    "role": ("已变更角色或机构", "Role or organisation changed"),
    "unchanged": ("无变化", "Nothing changed"),
}
Username = Annotated[str, Path(max_length=64)]
PasswordField = Annotated[str, Form(max_length=1024)]


def status_of(user: StaffRead, now: datetime) -> tuple[str, str, str]:
    """(Chinese, English, css class) of an account's state."""
    if user.disabled:
        return "已停用", "Disabled", "disabled"
    if user.locked_until is not None and user.locked_until > now:
        return "已锁定", "Locked", "locked"
    return "正常", "Active", "active"


def _user_url(username: str, **query: str) -> str:
    return f"/console/users/{quote(username, safe='')}" + (f"?{urlencode(query)}" if query else "")


async def _list_page(
    request: Request, s: AsyncSession, me: StaffPrincipal, now: datetime, *, done: str = "", who: str = "",
    error: str | None = None, form: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render(
        request, "users/list.html", me=me, users=await staff_console.accounts(s, me),
        organisations=await staff_console.organisations_for(s, me), now=now, status_of=status_of,
        notice=DONE.get(done), who=who, error=error, form=form or {}, status_code=status_code,
    )  # fmt: skip


async def _detail_page(
    request: Request, s: AsyncSession, me: StaffPrincipal, username: str, now: datetime, *, done: str = "",
    error: str | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    try:
        user = await staff_console.account(s, me, username)
    except AccountNotFound as missing:
        return render(request, "error.html", me=me, message=str(missing), status_code=404)
    return render(
        request, "users/detail.html", me=me, u=user, organisations=await staff_console.organisations_for(s, me),
        now=now, status_of=status_of, notice=DONE.get(done), error=error, status_code=status_code,
    )  # fmt: skip


def users_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/users", response_class=HTMLResponse)
    async def users_page(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        done: Annotated[str, Query(max_length=20)] = "",
        u: Annotated[str, Query(max_length=64)] = "",
    ) -> HTMLResponse:
        return await _list_page(request, s, me, container.clock(), done=done, who=u)

    @router.post("/users", response_model=None)
    async def create(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        username: Annotated[str, Form(max_length=200)] = "",
        name: Annotated[str, Form(max_length=200)] = "",
        organisation: Annotated[str, Form(max_length=64)] = "",
        role: Annotated[str, Form(max_length=20)] = "",
        password: PasswordField = "",
        password_again: PasswordField = "",
    ) -> HTMLResponse | RedirectResponse:
        now = container.clock()
        try:
            made = await staff_console.create_account(
                s, me, username=username, name=name, org_code=organisation, role=role, password=password,
                password_again=password_again, now=now,
            )  # fmt: skip
        except StaffError as error:
            # The form comes back as it was typed, but never the passwords.
            form = {"username": username, "name": name, "organisation": organisation, "role": role}
            return await _list_page(request, s, me, now, error=str(error), form=form, status_code=422)
        return RedirectResponse("/console/users?" + urlencode({"done": "created", "u": made}), status_code=303)

    @router.get("/users/{username}", response_class=HTMLResponse)
    async def user_page(
        request: Request,
        username: Username,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        done: Annotated[str, Query(max_length=20)] = "",
    ) -> HTMLResponse:
        return await _detail_page(request, s, me, username, container.clock(), done=done)

    @router.post("/users/{username}/disable", response_model=None)
    async def disable(
        request: Request,
        username: Username,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        confirm: Annotated[str, Form(max_length=10)] = "",
    ) -> HTMLResponse | RedirectResponse:
        now = container.clock()
        try:
            if confirm != "yes":
                await staff_console.account(s, me, username)  # an unknown account first: 404 as elsewhere
                raise StaffError("请勾选确认后再停用 tick the box to confirm before disabling")
            done = await staff_console.disable_account(s, me, username=username, now=now)
        except StaffError as error:
            return await _refused(request, s, me, username, now, error)
        return _done(done, "disabled")

    @router.post("/users/{username}/enable", response_model=None)
    async def enable(
        request: Request, username: Username, me: ConsoleAdmin, s: DbSession, container: AppContainer
    ) -> HTMLResponse | RedirectResponse:
        now = container.clock()
        try:
            done = await staff_console.enable_account(s, me, username=username, now=now)
        except StaffError as error:
            return await _refused(request, s, me, username, now, error)
        return _done(done, "enabled")

    @router.post("/users/{username}/password", response_model=None)
    async def new_password(
        request: Request,
        username: Username,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        password: PasswordField = "",
        password_again: PasswordField = "",
    ) -> HTMLResponse | RedirectResponse:
        now = container.clock()
        try:
            done = await staff_console.reset_account_password(
                s, me, username=username, password=password, password_again=password_again, now=now
            )
        except StaffError as error:
            return await _refused(request, s, me, username, now, error)
        return _done(done, "password")

    @router.post("/users/{username}/role", response_model=None)
    async def role(
        request: Request,
        username: Username,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        role: Annotated[str, Form(max_length=20)] = "",
        organisation: Annotated[str, Form(max_length=64)] = "",
    ) -> HTMLResponse | RedirectResponse:
        now = container.clock()
        try:
            change = await staff_console.change_account_role(
                s, me, username=username, role=role.strip() or None, org_code=organisation.strip() or None, now=now
            )
        except StaffError as error:
            return await _refused(request, s, me, username, now, error)
        return _done(change.username, "role" if change.changed else "unchanged")

    return router


def _done(username: str, what: str) -> RedirectResponse:
    """After a success: back to the account's page, which says what was done (DONE)."""
    return RedirectResponse(_user_url(username, done=what), status_code=303)


async def _refused(
    request: Request, s: AsyncSession, me: StaffPrincipal, username: str, now: datetime, error: StaffError
) -> HTMLResponse:
    """A refused action (the services refuse before changing anything): an account unknown
    or outside the scope is the 404 page, anything else the account's page with the message."""
    if isinstance(error, AccountNotFound):
        return render(request, "error.html", me=me, message=str(error), status_code=404)
    return await _detail_page(request, s, me, username, now, error=str(error), status_code=422)


__all__ = ["users_pages_router"]
