"""Declined, completed, restarted, expired: the session's status is saved by the runtime;
the event itself goes to the audit log."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev


async def on_lifecycle(ctx: Context, e: ev.Event) -> None:
    await ctx.audit(type(e).__name__, ev.to_dict(e))
