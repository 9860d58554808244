"""What the handlers of one turn share: the transaction, who, which session, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutMessage
from storage.repositories.audit import AuditRepository


@dataclass
class Context:
    db: AsyncSession
    respondent: Any
    session_id: int
    now: datetime
    actor: str
    out: list[OutMessage] = field(default_factory=list)

    async def audit(self, action: str, data: dict[str, Any] | None = None) -> None:
        await AuditRepository(self.db).record(
            actor=self.actor,
            action=action,
            subject_type="survey_session",
            subject_id=str(self.session_id),
            data=data,
            at=self.now,
        )
