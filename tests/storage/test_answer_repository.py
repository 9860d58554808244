from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Answer
from storage.repositories import AnswerRepository

MakeSession = Callable[..., Awaitable[tuple[int, int]]]


async def test_first_answer_is_stored(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    _, session_id = await make_session()
    async with db.transaction() as s:
        answer = await AnswerRepository(s).upsert(
            session_id=session_id,
            question_id="satisfaction",
            value="satisfied",
            raw="1 满意",
            parsed=True,
            skipped=False,
            at=t0,
        )
    assert (answer.value, answer.raw_text, answer.parsed, answer.skipped) == (
        "satisfied",
        "1 满意",
        True,
        False,
    )
    assert answer.answered_at == answer.updated_at == t0


async def test_reanswer_replaces_value_and_appends_raw_text(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    _, session_id = await make_session()
    async with db.transaction() as s:
        repo = AnswerRepository(s)
        first = await repo.upsert(
            session_id=session_id,
            question_id="services",
            value=["food"],
            raw="食物",
            parsed=True,
            skipped=False,
            at=t0,
        )
    later = t0 + timedelta(minutes=4)
    async with db.transaction() as s:
        repo = AnswerRepository(s)
        again = await repo.upsert(
            session_id=session_id,
            question_id="services",
            value=["food", "medicine"],
            raw="食物和药品",
            parsed=True,
            skipped=False,
            at=later,
        )
    assert again.id == first.id
    async with db.transaction() as s:
        answers = await AnswerRepository(s).for_session(session_id)
    assert len(answers) == 1
    stored = answers[0]
    assert stored.value == ["food", "medicine"]
    assert stored.raw_text == "食物\n食物和药品"
    assert (stored.answered_at, stored.updated_at) == (t0, later)


async def test_skip_without_text_keeps_earlier_raw_text_and_stores_null(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    _, session_id = await make_session()
    async with db.transaction() as s:
        repo = AnswerRepository(s)
        await repo.upsert(
            session_id=session_id,
            question_id="age",
            value=None,
            raw="不知道",
            parsed=False,
            skipped=False,
            at=t0,
        )
        answer = await repo.upsert(
            session_id=session_id,
            question_id="age",
            value=None,
            raw=None,
            parsed=False,
            skipped=True,
            at=t0 + timedelta(minutes=1),
        )
        assert (answer.raw_text, answer.skipped) == ("不知道", True)
        # None is SQL NULL (not JSON 'null'), so "no value" queries find it.
        assert await s.scalar(select(Answer.id).where(Answer.value.is_(None))) == answer.id


async def test_answers_of_a_session_in_the_order_first_answered(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    _, session_id = await make_session()
    _, other_session_id = await make_session()
    async with db.transaction() as s:
        repo = AnswerRepository(s)
        for minute, question in enumerate(["q1", "q2", "q3"]):
            await repo.upsert(
                session_id=session_id,
                question_id=question,
                value=minute,
                raw=str(minute),
                parsed=True,
                skipped=False,
                at=t0 + timedelta(minutes=minute),
            )
        await repo.upsert(
            session_id=other_session_id,
            question_id="q1",
            value=9,
            raw="9",
            parsed=True,
            skipped=False,
            at=t0,
        )
        await repo.upsert(
            session_id=session_id,
            question_id="q1",
            value=5,
            raw="5",
            parsed=True,
            skipped=False,
            at=t0 + timedelta(minutes=9),
        )
    async with db.transaction() as s:
        answers = await AnswerRepository(s).for_session(session_id)
    assert [(a.question_id, a.value) for a in answers] == [("q1", 5), ("q2", 1), ("q3", 2)]


async def test_chinese_values_are_stored_readably(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    """Staff and reports read the database: JSON keeps Chinese as Chinese, not \\u escapes."""
    from sqlalchemy import String, cast

    _, session_id = await make_session()
    async with db.transaction() as s:
        await AnswerRepository(s).upsert(
            session_id=session_id, question_id="opinion", value="谢谢你们", raw="谢谢你们",
            parsed=True, skipped=False, at=t0,
        )
        stored = await s.scalar(select(cast(Answer.value, String)))
    assert stored is not None and "谢谢你们" in stored
