"""One handler per engine event type, applied inside the runtime's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutMessage
from flows import events as ev
from storage.repositories.answers import AnswerRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.respondents import RespondentRepository


@dataclass
class Context:
    """What the handlers of one turn share: the transaction, who, which session, when."""

    db: AsyncSession
    respondent: Any
    session_id: int
    now: datetime
    actor: str
    out: list[OutMessage] = field(default_factory=list)

    async def audit(self, action: str, data: dict[str, Any] | None = None) -> None:
        await AuditRepository(self.db).record(
            actor=self.actor,
            action=action,
            subject_type="survey_session",
            subject_id=str(self.session_id),
            data=data,
            at=self.now,
        )


async def on_message(ctx: Context, e: ev.MessageSent) -> None:
    ctx.out.append(OutMessage(text=e.text, choices=e.choices, multiple=e.multiple))


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


async def on_escalation(ctx: Context, e: ev.EscalationRequested) -> None:
    # Staff tickets arrive with the escalations issue; until then the request is kept in
    # the audit log, so no escalation-worthy answer goes unrecorded.
    await ctx.audit("escalation_requested", ev.to_dict(e))


async def on_consent(ctx: Context, e: ev.ConsentGiven) -> None:
    await RespondentRepository(ctx.db).record_consent(ctx.respondent, at=ctx.now)
    await ctx.audit("consent_given")


async def on_opt_out(ctx: Context, e: ev.OptedOut) -> None:
    await RespondentRepository(ctx.db).opt_out(ctx.respondent, at=ctx.now)
    await ctx.audit("opted_out")


async def on_lifecycle(ctx: Context, e: ev.Event) -> None:
    await ctx.audit(type(e).__name__, ev.to_dict(e))


Handler = Callable[[Context, Any], Awaitable[None]]

HANDLERS: dict[type, Handler] = {
    ev.MessageSent: on_message,
    ev.AnswerRecorded: on_answer,
    ev.EscalationRequested: on_escalation,
    ev.ConsentGiven: on_consent,
    ev.OptedOut: on_opt_out,
    ev.ConsentDeclined: on_lifecycle,
    ev.SessionCompleted: on_lifecycle,
    ev.SessionRestarted: on_lifecycle,
    ev.SessionExpired: on_lifecycle,
}


async def apply(ctx: Context, events: list[ev.Event]) -> None:
    for e in events:
        await HANDLERS[type(e)](ctx, e)
