"""A message for the respondent: it becomes part of this turn's reply."""

from __future__ import annotations

from bot.channels.base import OutMessage
from bot.services.handlers.context import Context
from flows import events as ev


async def on_message(ctx: Context, e: ev.MessageSent) -> None:
    ctx.out.append(OutMessage(text=e.text, choices=e.choices, multiple=e.multiple))
