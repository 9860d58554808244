"""One handler per engine event type (one module each), applied inside the turn's
transaction, in the order the engine emitted them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.services.handlers.answer_recorded import on_answer
from bot.services.handlers.campaign_member import on_campaign_event
from bot.services.handlers.consent_given import on_consent
from bot.services.handlers.context import Context
from bot.services.handlers.escalation_requested import on_escalation
from bot.services.handlers.followup_completed import on_completed
from bot.services.handlers.message_sent import on_message
from bot.services.handlers.opted_out import on_opt_out
from bot.services.handlers.session_lifecycle import on_lifecycle
from flows import events as ev

Handler = Callable[[Context, Any], Awaitable[None]]

HANDLERS: dict[type, Handler] = {
    ev.MessageSent: on_message,
    ev.AnswerRecorded: on_answer,
    ev.EscalationRequested: on_escalation,
    ev.ConsentGiven: on_consent,
    ev.OptedOut: on_opt_out,
    ev.ConsentDeclined: on_lifecycle,
    ev.SessionCompleted: on_completed,
    ev.SessionRestarted: on_lifecycle,
    ev.SessionExpired: on_lifecycle,
}

__all__ = ["HANDLERS", "Context", "apply"]


async def apply(ctx: Context, events: list[ev.Event]) -> None:
    for e in events:
        await HANDLERS[type(e)](ctx, e)
        # A campaign's session also moves its member: one hook for every event type.
        await on_campaign_event(ctx, e)
