"""Files kept between a preview and its confirmation (see storage.models.StagedUpload)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StagedUpload


class StagedUploadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(
        self,
        *,
        token_hash: str,
        staff_session_id: int,
        purpose: str,
        filename: str,
        content: bytes,
        now: datetime,
        expires_at: datetime,
    ) -> StagedUpload:
        # Expired uploads go whenever a new one arrives: no sweep job needed for a table
        # that only grows as fast as people upload.
        await self.session.execute(delete(StagedUpload).where(StagedUpload.expires_at <= now))
        row = StagedUpload(
            token_hash=token_hash, staff_session_id=staff_session_id, purpose=purpose,
            filename=filename, content=content, created_at=now, expires_at=expires_at,
        )  # fmt: skip
        self.session.add(row)
        await self.session.flush()
        return row

    async def live(
        self, *, token_hash: str, staff_session_id: int, purpose: str, now: datetime, lock: bool = False
    ) -> StagedUpload | None:
        """The upload this login staged under this token, unless it expired. `lock`: held
        until the transaction ends, so two confirmations of one upload run one after the
        other and the second finds it gone."""
        query = select(StagedUpload).where(
            StagedUpload.token_hash == token_hash,
            StagedUpload.staff_session_id == staff_session_id,
            StagedUpload.purpose == purpose,
            StagedUpload.expires_at > now,
        )
        return await self.session.scalar(query.with_for_update() if lock else query)

    async def remove(self, row: StagedUpload) -> None:
        await self.session.delete(row)
        await self.session.flush()
