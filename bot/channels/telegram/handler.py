"""Parsed update → runtime (reply kept in the outbox) → a `Delivery` to run after the commit.

Shared by the webhook and polling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from aiogram import Bot

from bot.channels.telegram.chats import Chats
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.outbox import keep
from bot.channels.telegram.parse import Parsed
from bot.services.outbound import Kept
from bot.services.runtime import Runtime


class TelegramHandler:
    def __init__(
        self,
        runtime: Callable[[], Runtime],
        chats: Chats | None = None,
        *,
        organisations: Mapping[str, int | None] | None = None,
    ) -> None:
        self._runtime = runtime  # a getter: the app's runtime exists only inside its lifespan
        self.chats = chats or Chats()
        # Bot name → its organisation's id: new respondents join it and take its flows.
        self.organisations: Mapping[str, int | None] = organisations or {}

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
        kept = None
        if parsed.inbound is not None and not stale:
            inbound = replace(parsed.inbound, organisation_id=self.organisations.get(account))
            turn = await runtime.handle_turn(inbound, keep=keep(parsed.lang))
            reply, kept = turn.reply, turn.kept
        return Delivery(
            bot=bot,
            account=account,
            parsed=parsed,
            reply=reply,
            chats=self.chats,
            stale=stale,
            db=runtime.db,
            kept=kept or Kept(),
        )
