from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import AuditEntry, Organisation, StaffUser
from storage.repositories.organisations import Scope


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry: AuditEntry
    organisation_code: str | None  # the organisation the entry is counted to; None: the whole service
    organisation_name: str | None


class AuditRepository:
    """Append-only: there is no update or delete."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str | int | None = None,
        data: dict[str, Any] | None = None,
        at: datetime,
    ) -> AuditEntry:
        if not actor or not action or not subject_type:
            raise ValueError("an audit entry needs an actor, an action and a subject type")
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            data=dict(data or {}),
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def for_subject(self, subject_type: str, subject_id: str | int) -> list[AuditEntry]:
        """Oldest first."""
        rows = await self.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        return list(rows)

    async def search(
        self, scope: Scope, *, unowned: bool, wanted: AuditFilter, limit: int, offset: int
    ) -> tuple[list[AuditRow], int]:
        """Newest first, with the total matching. An entry belongs to the organisation named
        in its data ("organisation"), else to that of the staff account acting ("staff:NAME"),
        else to that of the staff account it is about (logins, locks, disabling). It is
        returned when that organisation lies in `scope`; one belonging to none (respondents,
        WeChat, system jobs, the CLI on shared things) only when `unowned`."""
        named = aliased(Organisation)
        acting = aliased(StaffUser)
        about = aliased(StaffUser)
        owner = aliased(Organisation)
        owner_id = func.coalesce(named.id, acting.organisation_id, about.organisation_id)
        conditions: list[ColumnElement[bool]] = []
        seen = owner.path.startswith(scope.path)
        conditions.append(or_(seen, owner.id.is_(None)) if unowned else seen)
        if wanted.action:
            conditions.append(AuditEntry.action == wanted.action)
        if wanted.actor:
            conditions.append(AuditEntry.actor == wanted.actor)
        if wanted.since is not None:
            conditions.append(AuditEntry.at >= wanted.since)
        if wanted.until is not None:
            conditions.append(AuditEntry.at < wanted.until)
        base = (
            select(AuditEntry, owner.code, owner.name)
            .outerjoin(named, named.code == AuditEntry.data["organisation"].as_string())
            .outerjoin(acting, AuditEntry.actor == literal("staff:", String) + acting.username)
            .outerjoin(
                about,
                and_(AuditEntry.subject_type == "staff_user", AuditEntry.subject_id == cast(about.id, String)),
            )
            .outerjoin(owner, owner.id == owner_id)
            .where(*conditions)
        )
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await self.session.execute(
            base.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
        )
        return [AuditRow(e, code, name) for e, code, name in rows.all()], int(total or 0)
