"""Helpers for the storage tests, as fixtures (so they work in any pytest import mode):
a fixed clock and small builders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from storage.db import Database
from storage.repositories import FlowRepository, RespondentRepository, SessionRepository

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

FlowDefinition = Callable[..., dict[str, Any]]


def _flow_definition(
    code: str = "elderly_followup", *, category: str = "elderly", **changes: Any
) -> dict[str, Any]:
    """A definition shaped like flows.schema.Flow.model_dump(mode="json")."""
    definition: dict[str, Any] = {
        "id": code,
        "version": 1,
        "category": {
            "code": category,
            "name": {"zh": "老年人", "en": "Older people"},
            "aliases": [],
        },
        "title": {"zh": "回访", "en": "Follow-up"},
        "intro": {"zh": "您好，这里是红十字会。", "en": "Hello, this is the Red Cross."},
        "consent": {"zh": "可以占用您两分钟吗？", "en": "May we take two minutes?"},
        "declined": {"zh": "好的，谢谢。", "en": "All right, thank you."},
        "closing": {"zh": "谢谢您！", "en": "Thank you!"},
        "questions": [
            {
                "id": "satisfied",
                "type": "yes_no",
                "prompt": {"zh": "您满意吗？", "en": "Satisfied?"},
            }
        ],
        "messages": {},
    }
    definition.update(changes)
    return definition


@pytest_asyncio.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """For the few tests about SQLite alone (embedded mode)."""
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest_asyncio.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    """For the few tests about PostgreSQL alone (server mode)."""
    database = Database(pg_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def flow_definition() -> FlowDefinition:
    return _flow_definition


@pytest.fixture
def make_respondent(db: Database) -> Callable[..., Awaitable[int]]:
    async def make(**kwargs: Any) -> int:
        async with db.transaction() as s:
            kwargs.setdefault("category", "elderly")
            respondent = await RespondentRepository(s).create(at=T0, **kwargs)
            return respondent.id

    return make


@pytest.fixture
def make_session(
    db: Database, make_respondent: Callable[..., Awaitable[int]]
) -> Callable[..., Awaitable[tuple[int, int]]]:
    """make_session(state=…, status=…) -> (respondent id, survey session id), both new."""

    async def make(
        *, state: dict[str, Any] | None = None, status: str = "active"
    ) -> tuple[int, int]:
        respondent_id = await make_respondent()
        async with db.transaction() as s:
            version, _ = await FlowRepository(s).publish(
                _flow_definition(),
                source="id: elderly_followup",
                source_name="elderly.yaml",
                now=T0,
            )
            survey = await SessionRepository(s).create(
                respondent_id=respondent_id,
                flow_version_id=version.id,
                state=state if state is not None else {"at": "satisfied"},
                status=status,
                now=T0,
            )
            return respondent_id, survey.id

    return make
