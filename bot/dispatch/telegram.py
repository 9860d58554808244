"""Sending outbox rows over Telegram: what the eager send after a turn could not send.

One aiogram Bot per configured bot (row.account is the bot's name), against
settings.telegram_api_base. Before sending, a row waits for the earlier rows of its chat
(see bot/channels/telegram/outbox.py): a chat's messages go out in the order they were
written. Within one dispatch pass a chat's rows are taken in id order and sent one after
another, so once the first goes the rest follow in the same pass; a row whose predecessor
is still unsent answers "waiting" (retryable) and is tried again later.

403 (the person blocked the bot, or deleted their account) marks the row and the respondent
unreachable, so nothing more is sent to them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from aiogram import Bot

from bot.channels.telegram.config import DEFAULT_API_BASE, TelegramBot, make_bot
from bot.channels.telegram.parse import CHANNEL
from bot.channels.telegram.sending import NO_SUCH_BOT, REQUEST_TIMEOUT_S, WAITING, send_row
from bot.dispatch.sender import Outcome, SendResult
from bot.services.outbound import earlier_unsent
from storage.db import Database
from storage.models import OutboxMessage, Respondent

log = logging.getLogger(__name__)

VIA = "bot"  # outbox `via` of rows the worker sent; the eager send's say "eager"


class TelegramSender:
    def __init__(
        self,
        db: Database,
        bots: Sequence[TelegramBot],
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout_s: int = REQUEST_TIMEOUT_S,
    ) -> None:
        self._db = db
        self._configs = {b.name: b for b in bots}
        self._api_base = api_base
        self._timeout_s = timeout_s
        self._bots: dict[str, Bot] = {}  # made on first use, closed by aclose()

    async def send(self, row: OutboxMessage, respondent: Respondent | None, *, now: datetime) -> Outcome:
        bot = self._bot(row.account)
        if bot is None:
            # Neither retryable nor permanent: an operator may add the bot before attempts run out.
            missing = f"no Telegram bot named {row.account!r} in HUIFANG_TELEGRAM_BOTS"
            return Outcome(SendResult(False, NO_SUCH_BOT, missing))
        waiting = await earlier_unsent(self._db, CHANNEL, row.account, row.external_id, row.id)
        if waiting is not None:
            return Outcome(SendResult(False, WAITING, "waiting for an earlier message to this chat", retryable=True))
        sent = await send_row(
            bot,
            row.external_id,
            row.text,
            row.template_data,
            fallback_lang=respondent.lang if respondent is not None else "zh",
            timeout_s=self._timeout_s,
        )
        if sent.result.ok:
            return Outcome(sent.result, via=VIA)
        if sent.gone is not None:
            return Outcome(sent.result, unreachable=sent.gone, respondent_unreachable=sent.gone)
        return Outcome(sent.result)

    def _bot(self, name: str) -> Bot | None:
        bot = self._bots.get(name)
        if bot is None and (config := self._configs.get(name)) is not None:
            bot = self._bots[name] = make_bot(config.token.get_secret_value(), self._api_base)
        return bot

    async def aclose(self) -> None:
        bots = list(self._bots.values())
        self._bots.clear()
        for bot in bots:
            await bot.session.close()


__all__ = ["CHANNEL", "TelegramSender"]
