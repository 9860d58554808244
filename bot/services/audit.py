"""Admins' actions in the audit log: who, what, on which subject, when; and reading it back.

Who reads what (`audit_entries`): admins only. An entry belongs to an organisation — the
one named in its data ("organisation", as every admin action and account change records),
else the organisation of the staff account acting ("staff:NAME"), else that of the staff
account it is about (a failed login, a lock). An admin sees the entries belonging to their
organisation and those under it. Entries belonging to none — respondents' own events
("respondent:…", "wechat:…"), system jobs, the CLI on shared things (a shared flow, an
import for the whole service) — concern the whole service: only admins of a root
organisation (one with no parent, e.g. the city society) see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff import StaffPrincipal
from storage.repositories.audit import AuditFilter, AuditRepository

__all__ = ["AuditFilter", "AuditPage", "AuditView", "audit_entries", "record_admin_action"]


async def record_admin_action(
    s: AsyncSession,
    *,
    actor: StaffPrincipal,
    action: str,
    subject_type: str,
    subject_id: int | str,
    data: dict[str, Any] | None,
    now: datetime,
) -> None:
    await AuditRepository(s).record(
        actor=f"staff:{actor.username}",
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data={"organisation": actor.organisation_code, **(data or {})},
        at=now,
    )


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str | None
    organisation_code: str | None
    organisation_name: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditView]
    total: int
    limit: int
    offset: int


class NotAnAdmin(Exception):
    pass


async def audit_entries(
    s: AsyncSession, me: StaffPrincipal, wanted: AuditFilter, *, limit: int, offset: int
) -> AuditPage:
    """The entries `me` may read (see the module's docstring), newest first."""
    if not me.is_admin:
        # Routes refuse first; this keeps any other caller from reading the log by mistake.
        raise NotAnAdmin(me.username)
    root = len(me.scope.ids_above_and_self()) == 1
    rows, total = await AuditRepository(s).search(me.scope, unowned=root, wanted=wanted, limit=limit, offset=offset)
    items = [
        AuditView(
            r.entry.id, r.entry.at, r.entry.actor, r.entry.action, r.entry.subject_type, r.entry.subject_id,
            r.organisation_code, r.organisation_name, dict(r.entry.data or {}),
        )
        for r in rows
    ]  # fmt: skip
    return AuditPage(items, total, limit, offset)
