"""The console's cookies: the session cookie, and the login form's own CSRF cookie."""

from __future__ import annotations

from fastapi import Request, Response

from bot.settings import Settings

SESSION_COOKIE = "huifang_console"
# The login form has no session yet; its CSRF token is a double submit: this cookie and the
# form's hidden field must carry the same random value (stops a site from logging a
# browser into the attacker's account).
LOGIN_COOKIE = "huifang_console_login"
LOGIN_PATH = "/console/login"


def is_https(request: Request, settings: Settings) -> bool:
    """Whether the browser reached us over HTTPS. X-Forwarded-Proto counts only when the
    operator says a proxy in front sets it (HUIFANG_TRUST_PROXY_HEADERS): otherwise any
    client could claim it."""
    if request.url.scheme == "https":
        return True
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-proto", "")
        return forwarded.split(",")[0].strip().lower() == "https"
    return False


def set_session_cookie(response: Response, token: str, *, request: Request, settings: Settings) -> None:
    # No Max-Age: the cookie ends with the browser (offices share computers); the server
    # ends the session itself after HUIFANG_STAFF_COOKIE_IDLE_HOURS unused.
    # SameSite=Lax, not Strict: a link to a ticket in a WeCom notice should open logged in;
    # GETs change nothing, and every POST carries the CSRF token.
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=is_https(request, settings), path="/"
    )


def clear_session_cookie(response: Response, *, request: Request, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request, settings), path="/")


def set_login_cookie(response: Response, value: str, *, request: Request, settings: Settings) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request, settings),
        path=LOGIN_PATH,
    )
