from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import dialect_insert, prepared
from storage.models import Answer

RAW_SEPARATOR = "\n"


class AnswerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self,
        *,
        session_id: int,
        question_id: str,
        value: Any,
        raw: str | None,
        parsed: bool,
        skipped: bool,
        at: datetime,
    ) -> Row[Any]:
        """Record the answer to a question, replacing an earlier one (after RESTART).

        The value, parsed and skipped flags are replaced; the raw text is appended to what
        was typed before (one line each), so nothing the respondent wrote is ever lost.
        `answered_at` stays the first answer's time, `updated_at` is the latest.
        One INSERT … ON CONFLICT DO UPDATE, so it is safe even without the respondent lock.
        """
        statement = prepared(self.session, "answer_upsert", _build_upsert)
        params = {
            "session_id": session_id,
            "question_id": question_id,
            "value": value,
            "raw_text": raw or "",
            "parsed": parsed,
            "skipped": skipped,
            "answered_at": at,
            "updated_at": at,
        }
        # A row with the answer's columns as attributes (id, value, raw_text, …).
        return (await self.session.execute(statement, params)).one()

    async def set_text_kind(self, *, session_id: int, question_id: str, kind: str | None) -> bool:
        """Record what a free-text answer reads as (complaint, help, suggestion, none);
        False when there is no such answer."""
        result = await self.session.execute(
            update(Answer)
            .where(Answer.session_id == session_id, Answer.question_id == question_id)
            .values(text_kind=kind)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult

    async def for_session(self, session_id: int) -> list[Answer]:
        """In the order the questions were first answered."""
        rows = await self.session.scalars(
            select(Answer)
            .where(Answer.session_id == session_id)
            .order_by(Answer.answered_at, Answer.id)
        )
        return list(rows)


def _build_upsert(dialect: str) -> Any:
    table = Answer.__table__  # the table, not the entity: no ORM bulk machinery per answer
    insert = dialect_insert(dialect, table)
    new = insert.excluded
    raw = case(
        (new.raw_text == "", table.c.raw_text),
        (table.c.raw_text == "", new.raw_text),
        else_=table.c.raw_text + RAW_SEPARATOR + new.raw_text,
    )
    changes = {
        "value": new.value,
        "parsed": new.parsed,
        "skipped": new.skipped,
        "updated_at": new.updated_at,
        "raw_text": raw,
    }
    return insert.on_conflict_do_update(
        index_elements=["session_id", "question_id"], set_=changes
    ).returning(*table.c)
