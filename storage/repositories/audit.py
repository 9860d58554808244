from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


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
            .where(
                AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id)
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        return list(rows)
