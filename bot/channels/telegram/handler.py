"""Parsed update → runtime → a `Delivery` to run after the commit. Shared by webhook and polling."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot

from bot.channels.telegram.chats import Chats
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.parse import Parsed
from bot.runtime import Runtime


class TelegramHandler:
    def __init__(self, runtime: Callable[[], Runtime], chats: Chats | None = None) -> None:
        self._runtime = runtime  # a getter: the app's runtime exists only inside its lifespan
        self.chats = chats or Chats()

    async def process(self, account: str, bot: Bot, parsed: Parsed) -> Delivery:
        """Record the update (one transaction, deduplicated by update_id) and say what to send.

        Errors from the runtime propagate: nothing was committed, so the update must be
        delivered again (webhook: a 500 makes Telegram retry; polling: the offset waits).
        """
        press = parsed.press
        stale = (
            press is not None
            and parsed.chat_id is not None
            and press.meaning.action != "unknown"
            and self.chats.is_stale((account, parsed.chat_id), press.message_id)
        )
        reply = None
        if parsed.inbound is not None and not stale:
            reply = await self._runtime().handle(parsed.inbound)
        return Delivery(bot=bot, account=account, parsed=parsed, reply=reply, chats=self.chats, stale=stale)
