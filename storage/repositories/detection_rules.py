from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DetectionRule


class DetectionRuleRepository:
    """Each organisation's own detection rules; the newest row of an organisation is its
    rules now (older rows are the history of what its admins wrote)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, *, organisation_id: int, source: str, created_by: str, now: datetime) -> DetectionRule:
        row = DetectionRule(organisation_id=organisation_id, source=source, created_by=created_by, created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row

    async def current(self, organisation_ids: list[int]) -> dict[int, DetectionRule]:
        """The newest rules of each of these organisations that has any."""
        rows = await self.session.scalars(
            select(DetectionRule)
            .where(DetectionRule.organisation_id.in_(organisation_ids))
            .order_by(DetectionRule.organisation_id, DetectionRule.id.desc())
        )
        newest: dict[int, DetectionRule] = {}
        for row in rows:
            newest.setdefault(row.organisation_id, row)
        return newest
