"""The respondent agreed to answer: recorded on them, with when."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev
from storage.repositories.respondents import RespondentRepository


async def on_consent(ctx: Context, e: ev.ConsentGiven) -> None:
    if ctx.writes is not None:
        ctx.writes.record_consent(ctx.respondent, at=ctx.now)
    else:
        await RespondentRepository(ctx.db).record_consent(ctx.respondent, at=ctx.now)
    await ctx.audit("consent_given")
