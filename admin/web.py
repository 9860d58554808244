"""Mounting the console into the app (bot/app.py calls `mount_console`)."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from admin.account.pages import account_pages_router
from admin.audit.api import audit_api_router
from admin.audit.pages import audit_pages_router
from admin.auth.api import auth_api_router
from admin.auth.cookies import clear_session_cookie
from admin.auth.deps import ConsoleForbidden, LoginRequired, login_url
from admin.auth.pages import auth_pages_router
from admin.calls.pages import calls_router
from admin.campaigns.api import campaigns_api_router
from admin.campaigns.pages import campaigns_pages_router
from admin.flows.api import flows_api_router
from admin.flows.pages import flows_pages_router
from admin.headers import ConsoleHeaders
from admin.home.routes import home_router
from admin.pages import render
from admin.qr_letters.pages import qr_letters_router
from admin.reports.api import reports_api_router
from admin.reports.exports import reports_exports_router
from admin.reports.pages import reports_pages_router
from admin.respondent_import.pages import respondent_import_router
from admin.respondents.api import respondents_api_router
from admin.respondents.pages import respondents_pages_router
from admin.routing.api import routing_api_router
from admin.static_files import static_router
from admin.tickets.api import tickets_api_router
from admin.tickets.pages import tickets_pages_router
from admin.users.pages import users_pages_router
from bot.settings import Settings
from bot.web.errors import OUT_OF_RANGE, OUT_OF_RANGE_ERRORS, out_of_range, value_out_of_range


def admin_routers(settings: Settings) -> list[APIRouter]:
    """Every console page and /api/v1 route; a new feature adds its router here."""
    return list(_routers())


@cache
def _routers() -> tuple[APIRouter, ...]:
    # Built once per process: FastAPI analyses every route's signature as it is declared
    # (~1 ms a route, ~0.3 s for the console), while including a built router is cheap. No
    # router depends on the settings; each app gets its own settings through its state.
    return (
        auth_api_router(),
        auth_pages_router(),
        home_router(),
        tickets_api_router(),
        routing_api_router(),
        flows_api_router(),
        audit_api_router(),
        tickets_pages_router(),
        audit_pages_router(),
        account_pages_router(),
        respondent_import_router(),  # before /console/respondents/{id}
        qr_letters_router(),  # before /console/respondents/{id}
        respondents_api_router(),
        respondents_pages_router(),
        calls_router(),
        reports_api_router(),
        flows_pages_router(),
        reports_exports_router(),
        reports_pages_router(),
        campaigns_api_router(),
        campaigns_pages_router(),
        users_pages_router(),
        static_router(),
    )


def mount_console(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(ConsoleHeaders)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        response = RedirectResponse(login_url(exc.next_path), status_code=303)
        if "huifang_console" in request.cookies:  # an ended session: drop the dead cookie
            clear_session_cookie(response, request=request, settings=settings)
        return response

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleForbidden)
        return render(request, "error.html", me=None, message=exc.message, status_code=403)

    async def bad_value(request: Request, exc: Exception) -> Response:
        # "/console/tickets/99999999999999999999": refused as the URL's fault (400/422), not
        # a server error.
        if request.url.path.startswith("/console") and out_of_range(exc):
            return render(request, "error.html", me=None, message=OUT_OF_RANGE, status_code=400)
        return await value_out_of_range(request, exc)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ConsoleForbidden, forbidden)
    for error in OUT_OF_RANGE_ERRORS:
        app.add_exception_handler(error, bad_value)
    routers = admin_routers(settings)
    # What the navigation may link to (admin.pages.nav), known here rather than read back
    # from the app, whose included routers FastAPI keeps in private structures.
    app.state.console_paths = frozenset(getattr(r, "path", "") for router in routers for r in router.routes)
    for router in routers:
        app.include_router(router)
