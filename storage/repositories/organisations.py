from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organisation
from storage.repositories._time import utcnow


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organisation_id: int) -> Organisation | None:
        return await self.session.get(Organisation, organisation_id)

    async def by_code(self, code: str) -> Organisation | None:
        return await self.session.scalar(select(Organisation).where(Organisation.code == code))

    async def create(self, *, code: str, name: str, at: datetime | None = None) -> Organisation:
        if not code.strip() or not name.strip():
            raise ValueError("an organisation needs a code and a name")
        organisation = Organisation(code=code, name=name, created_at=at or utcnow())
        self.session.add(organisation)
        await self.session.flush()
        return organisation
