"""Who is calling, as typed dependencies for every console and API route:

    async def page(me: ConsoleStaff, s: DbSession) -> HTMLResponse: …      # a console page
    async def action(me: ConsoleHandler) -> RedirectResponse: …            # a form POST
    async def api(me: CurrentStaff, s: DbSession) -> TicketRead: …          # JSON API

- `CurrentStaff`: the JSON API. `Authorization: Bearer <token>` (from POST /api/v1/login) or
  the console's session cookie; no login → 401. A cookie request that is not GET/HEAD/OPTIONS
  must carry the session's CSRF token (header X-CSRF-Token, or form field csrf_token) → 403.
  `CurrentHandler` (admin or staff) and `CurrentAdmin` also refuse the role with 403.
- `ConsoleStaff`: console pages, the session cookie only. No login → a redirect to the login
  page (and back afterwards); every POST (form or htmx) needs the CSRF token → 403 page.
  `ConsoleHandler`, `ConsoleAdmin` as above.
- `DbSession`: one transaction around the route, committed before the response is sent.

All give a `StaffPrincipal`: `.scope` for every query, `.csrf_token` for forms. Resolving
the login commits in its own short transaction, so a route may open its own (on SQLite, do
not nest one inside a `DbSession`).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from admin.auth.cookies import SESSION_COOKIE
from bot.container import Container
from bot.services.staff import StaffPrincipal, resolve_session

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

NOT_LOGGED_IN = "未登录或登录已过期 not logged in, or the login has expired"
CSRF_REFUSED = (
    "表单已过期，请刷新页面后重试 the form has expired: reload the page and try again (CSRF token missing or wrong)"
)
ROLE_REFUSED = "您的账号没有这项权限 your account's role does not allow this"


class LoginRequired(Exception):
    """A console page without a login: answered with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ConsoleForbidden(Exception):
    """A console request refused (CSRF, role): answered with a 403 page saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def get_container(request: Request) -> Container:
    return request.app.state.container


AppContainer = Annotated[Container, Depends(get_container)]


async def _db_session(container: AppContainer) -> AsyncIterator[AsyncSession]:
    async with container.db.transaction() as s:
        yield s


# scope="function": committed before the response leaves, so a client acting on the
# response (a redirect, a new token) finds the change there.
DbSession = Annotated[AsyncSession, Depends(_db_session, scope="function")]


async def _resolve(container: Container, token: str | None, kind: Literal["cookie", "bearer"]) -> StaffPrincipal | None:
    if not token:
        return None
    async with container.db.transaction() as s:
        me = await resolve_session(s, token, now=container.clock(), policy=container.settings.staff_policy)
    # A cookie's token is not a bearer token, nor the other way round: a cookie session
    # must never skip the CSRF check by arriving as a header.
    return me if me is not None and me.session_kind == kind else None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def csrf_ok(request: Request, me: StaffPrincipal) -> bool:
    sent: object = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)  # Starlette keeps the parsed form for the route
    if not isinstance(sent, str) or not me.csrf_token:
        return False
    return hmac.compare_digest(sent.encode(), me.csrf_token.encode())


async def current_staff(request: Request, container: AppContainer) -> StaffPrincipal:
    if "authorization" in request.headers:
        me = await _resolve(container, _bearer(request), "bearer")
        if me is None:
            raise HTTPException(401, NOT_LOGGED_IN, headers={"WWW-Authenticate": "Bearer"})
        return me
    me = await _resolve(container, request.cookies.get(SESSION_COOKIE), "cookie")
    if me is None:
        raise HTTPException(401, NOT_LOGGED_IN, headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and not await csrf_ok(request, me):
        raise HTTPException(403, CSRF_REFUSED)
    return me


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


async def current_handler(me: CurrentStaff) -> StaffPrincipal:
    if not me.can_handle:
        raise HTTPException(403, ROLE_REFUSED)
    return me


async def current_admin(me: CurrentStaff) -> StaffPrincipal:
    if not me.is_admin:
        raise HTTPException(403, ROLE_REFUSED)
    return me


CurrentHandler = Annotated[StaffPrincipal, Depends(current_handler)]
CurrentAdmin = Annotated[StaffPrincipal, Depends(current_admin)]


async def console_staff(request: Request, container: AppContainer) -> StaffPrincipal:
    me = await _resolve(container, request.cookies.get(SESSION_COOKIE), "cookie")
    if me is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(back if request.method in SAFE_METHODS else "/console")
    if request.method not in SAFE_METHODS and not await csrf_ok(request, me):
        raise ConsoleForbidden(CSRF_REFUSED)
    return me


ConsoleStaff = Annotated[StaffPrincipal, Depends(console_staff)]


async def console_handler(me: ConsoleStaff) -> StaffPrincipal:
    if not me.can_handle:
        raise ConsoleForbidden(ROLE_REFUSED)
    return me


async def console_admin(me: ConsoleStaff) -> StaffPrincipal:
    if not me.is_admin:
        raise ConsoleForbidden(ROLE_REFUSED)
    return me


ConsoleHandler = Annotated[StaffPrincipal, Depends(console_handler)]
ConsoleAdmin = Annotated[StaffPrincipal, Depends(console_admin)]


def login_url(next_path: str) -> str:
    return "/console/login" if next_path in ("", "/console") else f"/console/login?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a console path of this site, never another site."""
    if not value or not value.startswith("/console") or value.startswith("/console/login"):
        return "/console"
    if "\\" in value or "//" in value or any(ord(c) < 0x20 for c in value):
        return "/console"
    return value
