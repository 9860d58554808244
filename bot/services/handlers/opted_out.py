"""退订: from now on nothing is sent to them, whatever they write."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev
from storage.repositories.respondents import RespondentRepository


async def on_opt_out(ctx: Context, e: ev.OptedOut) -> None:
    await RespondentRepository(ctx.db).opt_out(ctx.respondent, at=ctx.now)
    await ctx.audit("opted_out")
