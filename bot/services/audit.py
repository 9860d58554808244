"""Admins' actions in the audit log: who, what, on which subject, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff import StaffPrincipal
from storage.repositories.audit import AuditRepository


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
