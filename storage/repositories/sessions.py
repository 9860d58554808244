from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import SurveySession
from storage.models.survey_session import ENDED_STATUSES, OPEN_STATUSES, STATUSES


def _check(status: str, state: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown session status {status!r}: use one of {', '.join(STATUSES)}")
    if not isinstance(state, dict):
        raise TypeError(f"session state must be a dict, got {type(state).__name__}")


class SessionRepository:
    """Survey sessions. Which status may follow which is the runtime's session machine's
    business; this only refuses statuses that do not exist."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, session_id: int) -> SurveySession | None:
        return await self.session.get(SurveySession, session_id)

    async def open_for(self, respondent_id: int) -> SurveySession | None:
        """The respondent's most recent invited or active session."""
        return await self.session.scalar(_OPEN_FOR, {"respondent_id": respondent_id})

    async def has_any(self, respondent_id: int) -> bool:
        """Whether the respondent was ever given a survey session, in any status."""
        found = await self.session.scalar(
            select(SurveySession.id).where(SurveySession.respondent_id == respondent_id).limit(1)
        )
        return found is not None

    async def latest_for(self, respondent_id: int) -> SurveySession | None:
        """The respondent's most recent session, in any status."""
        return await self.session.scalar(
            select(SurveySession)
            .where(SurveySession.respondent_id == respondent_id)
            .order_by(SurveySession.started_at.desc(), SurveySession.id.desc())
            .limit(1)
        )

    async def idle_open(self, *, before: datetime, limit: int, after_id: int = 0) -> list[SurveySession]:
        """Open sessions whose respondent has been silent since before `before`, in id order
        from `after_id` on: last heard from at their last message, or at the start when
        they never wrote in this session (the engine's `last_seen` is never later)."""
        last_heard = func.coalesce(SurveySession.last_inbound_at, SurveySession.started_at)
        rows = await self.session.scalars(
            select(SurveySession)
            .where(
                SurveySession.status.in_(OPEN_STATUSES),
                last_heard < before,
                SurveySession.id > after_id,
            )
            .order_by(SurveySession.id)
            .limit(limit)
        )
        return list(rows)

    async def create(
        self,
        *,
        respondent_id: int,
        flow_version_id: int,
        state: dict[str, Any],
        status: str,
        now: datetime,
        campaign_id: int | None = None,
        channel: str | None = None,
        interviewer: str | None = None,
    ) -> SurveySession:
        _check(status, state)
        survey = SurveySession(
            respondent_id=respondent_id,
            flow_version_id=flow_version_id,
            status=status,
            state=state,
            started_at=now,
            updated_at=now,
            ended_at=now if status in ENDED_STATUSES else None,
            campaign_id=campaign_id,
            channel=channel,
            interviewer=interviewer,
        )
        self.session.add(survey)
        await self.session.flush()
        return survey

    async def save(
        self,
        survey: SurveySession,
        /,
        *,
        state: dict[str, Any],
        status: str,
        now: datetime,
        inbound: bool = False,
    ) -> None:
        """Store the engine's new state. `inbound`: this change answers a message from the
        respondent (the 48-hour WeChat window counts from it)."""
        _check(status, state)
        values: dict[str, Any] = {"state": state, "status": status, "updated_at": now}
        if inbound:
            values["last_inbound_at"] = now
        if status in ENDED_STATUSES and survey.ended_at is None:
            values["ended_at"] = now
        # One UPDATE instead of a unit-of-work flush (this runs for every message); the
        # object is brought up to date without being marked dirty.
        await self.session.execute(_save_statement(tuple(values)), {"survey_id": survey.id, **values})
        for key, value in values.items():
            set_committed_value(survey, key, value)

    async def list_for_respondent(self, respondent_id: int) -> list[SurveySession]:
        """Newest first."""
        rows = await self.session.scalars(
            select(SurveySession)
            .where(SurveySession.respondent_id == respondent_id)
            .order_by(SurveySession.started_at.desc(), SurveySession.id.desc())
        )
        return list(rows)


# Built once: this runs for every inbound message.
_OPEN_FOR = (
    select(SurveySession)
    .where(
        SurveySession.respondent_id == bindparam("respondent_id"),
        SurveySession.status.in_(OPEN_STATUSES),
    )
    .order_by(SurveySession.started_at.desc(), SurveySession.id.desc())
    .limit(1)
)


_SAVES: dict[tuple[str, ...], Any] = {}


def _save_statement(columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns, built once per combination (four exist)."""
    statement = _SAVES.get(columns)
    if statement is None:
        table = cast(Table, SurveySession.__table__)
        statement = _SAVES[columns] = (
            update(table)
            .where(table.c.id == bindparam("survey_id"))
            .values({c: bindparam(c, type_=table.c[c].type) for c in columns})
        )
    return statement
