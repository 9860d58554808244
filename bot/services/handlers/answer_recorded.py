"""An answer (or a skip, or unreadable words kept as they were): stored, one per question.
A free-text answer (a text question's, or words the parser could not read) is classified
too, its kind kept on the answer for the reports, and a complaint or a request for help
opens a ticket."""

from __future__ import annotations

from bot.services.handlers.context import Context
from bot.services.handlers.escalation_requested import open_for_answer
from flows import events as ev


async def on_answer(ctx: Context, e: ev.AnswerRecorded) -> None:
    await ctx.record_answer(question_id=e.question_id, value=e.value, raw=e.raw, parsed=e.parsed, skipped=e.skipped)
    if e.skipped or ctx.flow is None:
        return
    question = next((q for q in ctx.flow.questions if q.id == e.question_id), None)
    if question is None:
        return
    if question.type == "text" and isinstance(e.value, str) and e.value.strip():
        words = e.value
    elif not e.parsed and e.raw.strip():
        words = e.raw
    else:
        return
    kind, escalate = await ctx.text_kind(e.question_id, words)
    if escalate:
        # Whatever the question, and whether or not the flow asked for it: a complaint or a
        # request for help reaches staff (the flow's own rule, if any, shares the ticket).
        await open_for_answer(ctx, question_id=e.question_id, raw=words, kind=kind, reason="text")
