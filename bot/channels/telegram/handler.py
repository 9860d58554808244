"""Parsed update → runtime (reply kept in the outbox) → a `Delivery` to run after the commit.

Shared by the webhook and polling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, Reply
from bot.channels.telegram.chats import Chats
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.outbox import Kept, keep_reply
from bot.channels.telegram.parse import Parsed
from bot.runtime import Runtime


class TelegramHandler:
    def __init__(self, runtime: Callable[[], Runtime], chats: Chats | None = None) -> None:
        self._runtime = runtime  # a getter: the app's runtime exists only inside its lifespan
        self.chats = chats or Chats()

    async def process(self, account: str, bot: Bot, parsed: Parsed) -> Delivery:
        """Record the update and keep its reply in the outbox (one transaction, deduplicated
        by update_id), and say what to send after the commit.

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
        runtime = self._runtime()
        reply = None
        kept: list[Kept] = []
        if parsed.inbound is not None and not stale:

            async def keep(s: AsyncSession, inbound: Inbound, reply: Reply, respondent: Any) -> None:
                kept.append(await keep_reply(s, inbound, reply, respondent, lang=parsed.lang))

            reply = await runtime.handle(parsed.inbound, after_turn=keep)
        return Delivery(
            bot=bot,
            account=account,
            parsed=parsed,
            reply=reply,
            chats=self.chats,
            stale=stale,
            db=runtime.db,
            kept=kept[0] if kept else Kept(),
        )
