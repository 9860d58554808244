"""POST /api/v1/login → a bearer token; POST /api/v1/logout; GET /api/v1/me."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from admin.auth.deps import AppContainer, CurrentStaff, DbSession
from admin.auth.schemas import LoginIn, MeRead, OrganisationRead, StaffUserRead, TokenRead
from bot.services.organisations import list_organisations
from bot.services.staff import (
    LOGIN_FAILED,
    StaffPrincipal,
    authenticate,
    end_session,
    start_session,
    too_many_failures,
)


def user_read(me: StaffPrincipal) -> StaffUserRead:
    return StaffUserRead(
        id=me.id,
        username=me.username,
        name=me.name,
        role=me.role,
        organisation=me.organisation_code,
        can_handle=me.can_handle,
        is_admin=me.is_admin,
    )


def auth_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["auth"])

    @router.post(
        "/login",
        response_model=TokenRead,
        responses={
            401: {"description": "Any failure, with one message: " + LOGIN_FAILED},
            429: {"description": "Too many failed logins from this address; Retry-After says when to try again"},
        },
    )
    async def login(body: LoginIn, request: Request, s: DbSession, container: AppContainer) -> TokenRead | JSONResponse:
        policy = container.settings.staff_policy
        now = container.clock()
        client = request.client.host if request.client else None
        failures = container.login_failures
        wait = failures.waiting(client or "") if failures is not None else None
        if wait is not None:
            return JSONResponse(
                {"detail": too_many_failures(wait)}, status_code=429, headers={"Retry-After": str(math.ceil(wait))}
            )
        user = await authenticate(
            s, username=body.username, password=body.password, now=now, policy=policy, client=client
        )
        if user is None and failures is not None:
            failures.check(client or "")
        if user is None:
            # Returned, not raised: the failure is committed (lockout count, audit).
            return JSONResponse({"detail": LOGIN_FAILED}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        made = await start_session(s, user, kind="bearer", now=now, policy=policy)
        return TokenRead(token=made.token, expires_at=made.expires_at, user=user_read(made.principal))

    @router.post("/logout", status_code=204)
    async def logout(me: CurrentStaff, s: DbSession, container: AppContainer) -> Response:
        await end_session(s, me, now=container.clock())
        return Response(status_code=204)

    @router.get("/me", response_model=MeRead)
    async def whoami(me: CurrentStaff, s: DbSession) -> MeRead:
        rows = await list_organisations(s, scope=me.scope)
        top = rows[0].depth if rows else 0
        return MeRead(
            user=user_read(me),
            scope=[
                OrganisationRead(code=o.code, name=o.name, kind=o.kind, parent_code=o.parent_code, depth=o.depth - top)
                for o in rows
            ],
        )

    return router
