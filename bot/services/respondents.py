"""Respondents as the channels and the console see them."""

from __future__ import annotations

from storage.db import Database
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository


async def has_open_survey(db: Database, channel: str, account: str, external_id: str) -> bool:
    """Whether the person behind this channel identity is in the middle of a survey."""
    async with db.transaction() as s:
        respondent = await RespondentRepository(s).by_identity(channel, account, external_id)
        return respondent is not None and await SessionRepository(s).open_for(respondent.id) is not None
