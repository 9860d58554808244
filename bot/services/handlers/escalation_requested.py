"""An answer the flow marks for staff follow-up."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev


async def on_escalation(ctx: Context, e: ev.EscalationRequested) -> None:
    # Staff tickets arrive with the escalations issue; until then the request is kept in
    # the audit log, so no escalation-worthy answer goes unrecorded.
    await ctx.audit("escalation_requested", ev.to_dict(e))
