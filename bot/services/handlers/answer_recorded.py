"""An answer (or a skip, or unreadable words kept as they were): stored, one per question."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev
from storage.repositories.answers import AnswerRepository


async def on_answer(ctx: Context, e: ev.AnswerRecorded) -> None:
    await AnswerRepository(ctx.db).upsert(
        session_id=ctx.session_id,
        question_id=e.question_id,
        value=e.value,
        raw=e.raw,
        parsed=e.parsed,
        skipped=e.skipped,
        at=ctx.now,
    )
