"""/api/v1/audit: the audit log, newest first, for admins only (others: 403).

What an admin sees is decided in bot.services.audit: entries belonging to their
organisation and those under it, and, for admins of a root organisation, the entries of
the whole service (respondents, WeChat, system jobs). Times without a zone are read as
Asia/Shanghai, as staff type them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from admin.auth.deps import CurrentAdmin, DbSession
from admin.pages import SHANGHAI
from bot.services.audit import AuditFilter, AuditPage, audit_entries


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str | None
    organisation: str | None  # code; None: the whole service
    data: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditEntryRead]
    total: int
    limit: int
    offset: int


def zoned(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=SHANGHAI) if value is not None and value.tzinfo is None else value


def as_list(page: AuditPage) -> AuditList:
    return AuditList(
        items=[
            AuditEntryRead(
                id=e.id, at=e.at, actor=e.actor, action=e.action, subject_type=e.subject_type,
                subject_id=e.subject_id, organisation=e.organisation_code, data=e.data,
            )
            for e in page.items
        ],
        total=page.total, limit=page.limit, offset=page.offset,
    )  # fmt: skip


def audit_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["audit"])

    @router.get("/audit", response_model=AuditList, responses={403: {"description": "Not an admin"}})
    async def list_audit(
        me: CurrentAdmin,
        s: DbSession,
        action: Annotated[str | None, Query(max_length=64, description="exact, e.g. flow_published")] = None,
        actor: Annotated[str | None, Query(max_length=200, description='exact, e.g. "staff:admin", "cli"')] = None,
        since: Annotated[datetime | None, Query(description="from then (inclusive)")] = None,
        until: Annotated[datetime | None, Query(description="before then")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> AuditList:
        wanted = AuditFilter(action or None, actor or None, zoned(since), zoned(until))
        return as_list(await audit_entries(s, me, wanted, limit=limit, offset=offset))

    return router


__all__ = ["audit_api_router"]
