"""The login form (GET/POST /console/login) and logging out (POST /console/logout)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.auth.cookies import LOGIN_COOKIE, clear_session_cookie, set_login_cookie, set_session_cookie
from admin.auth.deps import CSRF_REFUSED, AppContainer, ConsoleStaff, DbSession, safe_next
from admin.pages import render
from bot.services.staff import LOGIN_FAILED, authenticate, end_session, start_session, too_many_failures


def _login_form(
    request: Request,
    container: AppContainer,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "auth/login.html",
        me=None,
        csrf_token=token,
        next_path=next_path,
        username=username,
        error=error,
        status_code=status_code,
    )
    set_login_cookie(response, token, request=request, settings=container.settings)
    return response


def auth_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, container: AppContainer, next: str | None = None) -> HTMLResponse:
        return _login_form(request, container, next_path=safe_next(next))

    @router.post("/login")
    async def login(
        request: Request,
        container: AppContainer,
        s: DbSession,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        csrf_token: Annotated[str, Form(max_length=100)] = "",
        next: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        next_path = safe_next(next)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
            # A page left open past the cookie's hour, or a post from another site.
            return _login_form(
                request, container, next_path=next_path, username=username, error=CSRF_REFUSED, status_code=403
            )
        policy = container.settings.staff_policy
        now = container.clock()
        client = request.client.host if request.client else None
        failures = container.login_failures
        wait = failures.waiting(client or "") if failures is not None else None
        if wait is not None:
            return _login_form(
                request, container, next_path=next_path, username=username, error=too_many_failures(wait),
                status_code=429,
            )  # fmt: skip
        user = await authenticate(s, username=username, password=password, now=now, policy=policy, client=client)
        if user is None and failures is not None:
            failures.check(client or "")
        if user is None:
            return _login_form(
                request, container, next_path=next_path, username=username, error=LOGIN_FAILED, status_code=401
            )
        made = await start_session(s, user, kind="cookie", now=now, policy=policy)
        response = RedirectResponse(next_path, status_code=303)
        set_session_cookie(response, made.token, request=request, settings=container.settings)
        response.delete_cookie(LOGIN_COOKIE, path="/console/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, me: ConsoleStaff, s: DbSession, container: AppContainer) -> Response:
        await end_session(s, me, now=container.clock())
        response = RedirectResponse("/console/login", status_code=303)
        clear_session_cookie(response, request=request, settings=container.settings)
        return response

    return router
