from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import SurveySession
from storage.repositories import SessionRepository

MakeSession = Callable[..., Awaitable[tuple[int, int]]]


async def test_open_for_finds_the_latest_invited_or_active_session(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    respondent_id, first_id = await make_session(status="completed")
    async with db.transaction() as s:
        repo = SessionRepository(s)
        assert await repo.open_for(respondent_id) is None
        assert await repo.has_any(respondent_id)
        assert not await repo.has_any(respondent_id + 1000)
        first = await repo.get(first_id)
        assert first is not None
        invited = await repo.create(
            respondent_id=respondent_id,
            flow_version_id=first.flow_version_id,
            state={},
            status="invited",
            now=t0 + timedelta(days=1),
        )
        active = await repo.create(
            respondent_id=respondent_id,
            flow_version_id=first.flow_version_id,
            state={},
            status="active",
            now=t0 + timedelta(days=2),
        )
    async with db.transaction() as s:
        repo = SessionRepository(s)
        found = await repo.open_for(respondent_id)
        assert found is not None and found.id == active.id
        listed = await repo.list_for_respondent(respondent_id)
    assert [x.id for x in listed] == [active.id, invited.id, first_id]
    assert listed[-1].ended_at == t0  # created already ended


async def test_save_keeps_state_status_and_times(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    respondent_id, session_id = await make_session(state={"at": "q1", "answers": {}})
    later = t0 + timedelta(minutes=3)
    async with db.transaction() as s:
        repo = SessionRepository(s)
        survey = await repo.get(session_id)
        assert survey is not None
        state = survey.state
        state["answers"]["q1"] = "很好"  # changed in place, as an engine may do
        state["at"] = "q2"
        await repo.save(survey, state=state, status="active", now=later, inbound=True)
    async with db.transaction() as s:
        survey = await SessionRepository(s).get(session_id)
    assert survey is not None
    assert survey.state == {"at": "q2", "answers": {"q1": "很好"}}
    assert (survey.status, survey.updated_at, survey.last_inbound_at, survey.ended_at) == (
        "active",
        later,
        later,
        None,
    )

    end = t0 + timedelta(minutes=5)
    async with db.transaction() as s:
        repo = SessionRepository(s)
        survey = await repo.get(session_id)
        assert survey is not None
        await repo.save(survey, state=survey.state, status="completed", now=end)
    async with db.transaction() as s:
        repo = SessionRepository(s)
        survey = await repo.get(session_id)
        assert await repo.open_for(respondent_id) is None
    assert survey is not None
    assert (survey.status, survey.ended_at, survey.last_inbound_at) == ("completed", end, later)


async def test_unknown_status_or_bad_state_is_refused(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    respondent_id, session_id = await make_session()
    async with db.transaction() as s:
        repo = SessionRepository(s)
        survey = await repo.get(session_id)
        assert survey is not None
        with pytest.raises(ValueError, match="unknown session status 'paused'"):
            await repo.save(survey, state={}, status="paused", now=t0)
        with pytest.raises(TypeError, match="state must be a dict"):
            await repo.save(survey, state=["x"], status="active", now=t0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="unknown session status"):
            await repo.create(
                respondent_id=respondent_id,
                flow_version_id=survey.flow_version_id,
                state={},
                status="done",
                now=t0,
            )
        assert await s.scalar(select(func.count()).select_from(SurveySession)) == 1
    async with db.transaction() as s:
        survey = await SessionRepository(s).get(session_id)
        assert survey is not None and survey.status == "active"
