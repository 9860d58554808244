"""An answer the flow marks for staff follow-up: a ticket, with the respondent's exact words
and where in the survey they said them.

- a flagged option ("option:<code>"): a complaint, flagged by the flow;
- a low number or score ("value<=n"): flagged;
- their own words ("text", "keyword:<word>"): what `classify_text` reads them as, and a
  ticket only when it says staff should follow up (not for "没有", "挺好"…).

One ticket per question of a session (the dedup key): answering the question again after
重新开始 adds nothing.
"""

from __future__ import annotations

from typing import Any

from bot.services.handlers.context import Context
from bot.services.tickets import open_ticket
from flows import events as ev
from flows.normalize import normalize
from flows.schema import Question
from storage.models.ticket import KINDS
from storage.repositories.tickets import TicketRepository

# The flow's escalate.priority, as a ticket priority; "normal" takes the queue's own.
_PRIORITIES = {"urgent": 1, "high": 2}


async def on_escalation(ctx: Context, e: ev.EscalationRequested) -> None:
    if e.reason.startswith("option:"):
        kind = "complaint"
    elif e.reason.startswith("value"):
        kind = "flagged"
    else:
        kind, escalate = await ctx.text_kind(e.question_id, e.raw)
        if not escalate:
            await ctx.audit("escalation_not_opened", {**ev.to_dict(e), "text_kind": kind})
            return
        # The classifier may know kinds tickets do not have (a suggestion worth a look).
        kind = kind if kind in KINDS else "flagged"
    await open_for_answer(
        ctx, question_id=e.question_id, raw=e.raw, kind=kind, reason=e.reason, queue=e.queue, priority=e.priority
    )


async def open_for_answer(
    ctx: Context,
    *,
    question_id: str,
    raw: str,
    kind: str,
    reason: str,
    queue: str | None = None,
    priority: str | None = None,
) -> None:
    """A ticket for what the respondent answered to `question_id`, with their exact words and
    where in the survey; one per question of a session, whoever asks first (a flow's rule, or
    free text that reads as a complaint whatever the question)."""
    context: dict[str, Any] = {"reason": reason, "flow_queue": queue, "flow_priority": priority}
    category = ctx.respondent.category
    question = None
    if ctx.flow is not None:
        category = ctx.flow.category.code
        context["flow"] = ctx.flow.id
        question = next((q for q in ctx.flow.questions if q.id == question_id), None)
        if question is not None:
            context["question"] = question.prompt.zh
    text = what_was_raised(question, raw, reason)
    repo = TicketRepository(ctx.db)
    dedup_key = f"escalation:{ctx.session_id}:{question_id}"
    earlier = await repo.open_for_session(ctx.session_id)
    if earlier is not None and earlier.dedup_key != dedup_key:
        # One survey, one case: a low rating and then the words saying why are the same
        # problem, handled (and confirmed with the respondent) once.
        earlier.text = f"{earlier.text}；{text}"
        await repo.add_event(
            earlier.id, at=ctx.now, actor=ctx.actor, kind="reply", text=raw,
            data={"question": question_id, "reason": reason, "kind": kind},
        )  # fmt: skip
        return
    await open_ticket(
        ctx.db,
        respondent=ctx.respondent,
        kind=kind,
        text=text,
        session_id=ctx.session_id,
        question_id=question_id,
        category=category,
        context=context,
        priority=_PRIORITIES.get(priority or ""),
        dedup_key=dedup_key,
        prefer_queue=queue,
        actor=ctx.actor,
        now=ctx.now,
        config=ctx.tickets,
    )


def what_was_raised(question: Question | None, raw: str, reason: str) -> str:
    """A ticket's words for staff and for the confirmation question ("您反映的问题：…"): what
    the respondent wrote, or for a flagged option or score the question and its answer
    ("总体评价：不好") rather than the bare "4" they typed."""
    if question is None or not reason.startswith(("option:", "value")):
        return raw
    asked = (question.report_label or question.prompt).zh
    answer = raw.strip()
    if reason.startswith("option:"):
        code = reason.removeprefix("option:")
        option = next((o for o in question.options if o.code == code), None)
        if option is not None:
            answer = option.label.zh
    said = raw.strip()
    if said and normalize(said) != normalize(answer) and not said.isdigit() and len(said) > 1:
        return f"{asked}：{answer}（原话：{said}）"
    return f"{asked}：{answer}"
