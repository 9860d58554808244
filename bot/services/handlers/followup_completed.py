"""A session ended by its last answer; when it was a follow-up about a ticket, the answers
are applied to the ticket:

- "解决了" → confirmed, with how satisfied they are;
- "还没有" → reopened: one step more urgent, its staff member told (`tickets.reopen`).

The answers themselves are stored like any others (answer_recorded); the ticket's history
gets the reply too, so staff read it where they work. A ticket staff moved on in the
meantime (resolved again, reopened by hand) keeps its status: the reply is history only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import tickets
from bot.services.handlers.context import Context
from bot.services.handlers.session_lifecycle import on_lifecycle
from bot.services.ticket_config import TicketConfig
from bot.services.ticket_followup import ticket_of
from flows import events as ev
from storage.models import Respondent
from storage.repositories.tickets import TicketRepository

SOLVED, NOT_SOLVED = "solved", "not_solved"  # the codes of the flow's `solved` question
NOT_SOLVED_REASON = "受访者回复：问题还没有解决 respondent: not solved"


async def on_completed(ctx: Context, e: ev.SessionCompleted) -> None:
    await on_lifecycle(ctx, e)
    if ctx.flow is None or ctx.flow.kind != "followup" or ctx.state is None:
        return
    found = ticket_of(ctx.state)
    if found is not None:
        await apply_outcome(
            ctx.db, ticket_id=found[0], round_=found[1], respondent=ctx.respondent,
            answers=ctx.state.get("answers", {}), now=ctx.now, config=ctx.tickets,
        )  # fmt: skip


async def apply_outcome(
    s: AsyncSession, *, ticket_id: int, round_: int, respondent: Respondent, answers: dict[str, Any], now: datetime,
    config: TicketConfig | None = None,
) -> str | None:
    """Move the ticket as the respondent's answers say; the new status, or None when the
    answers decide nothing (no answer to `solved`) or the ticket is no longer the one asked
    about (another resolution, another status)."""
    solved = answers.get("solved")
    if solved not in (SOLVED, NOT_SOLVED):
        return None
    ticket = await TicketRepository(s).lock(ticket_id)
    if ticket is None or ticket.respondent_id != respondent.id:
        return None
    actor = f"respondent:{respondent.id}"
    satisfaction = answers.get("satisfaction") if solved == SOLVED else None
    comment = answers.get("comment")
    said = ["解决了 solved" if solved == SOLVED else "还没有 not solved"]
    if satisfaction:
        said.append(f"满意度 satisfaction: {satisfaction}")
    if comment:
        said.append(str(comment))
    await TicketRepository(s).add_event(
        ticket.id, at=now, actor=actor, kind="reply", text="\n".join(said),
        data={"confirmation": solved, "satisfaction": satisfaction, "comment": comment, "round": round_},
    )  # fmt: skip
    if ticket.status != "resolved" or ticket.reopen_count != round_:
        return None
    if solved == SOLVED:
        ticket = await tickets.confirm(s, ticket, by=actor, expected_version=None, now=now, satisfaction=satisfaction)
    else:
        ticket = await tickets.reopen(
            s, ticket, by=actor, expected_version=None, now=now, reason=NOT_SOLVED_REASON, config=config
        )
    return ticket.status
