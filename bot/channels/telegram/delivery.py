"""Saying the reply on Telegram, after the runtime's transaction committed.

Nothing here raises: a failure is logged and the rest of that reply is dropped (sending
message 3 without message 2 would confuse). Guaranteed delivery needs the outbox that comes
with the WeChat dispatcher; until then a failed send is lost and the log says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, Message

from bot.channels.base import OutMessage, Reply
from bot.channels.telegram.chats import ChatKey, Chats
from bot.channels.telegram.keyboards import keyboard_for, label_of, toggled, ticked_numbers
from bot.channels.telegram.parse import Parsed
from bot.channels.telegram.texts import say

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TEXT = 4096  # Telegram's limit per message, in characters
MAX_RETRY_AFTER_S = 10.0  # flood control: wait this long at most, once, then give up


@dataclass
class Delivery:
    bot: Bot
    account: str
    parsed: Parsed
    reply: Reply | None
    chats: Chats
    stale: bool = False  # a press on a keyboard whose question has passed

    async def __call__(self) -> None:
        if self.reply is not None and self.reply.duplicate:
            return  # the first delivery of this update answered the press and sent the reply
        try:
            if self.parsed.press is not None:
                await self._answer_press()
            if self.reply is not None and self.parsed.chat_id is not None:
                messages = [m for m in self.reply.messages if m.text.strip()]
                if messages:
                    async with self.chats.turn(self._key):
                        await self._send(messages)
        except TelegramForbiddenError as e:
            # They blocked the bot; Telegram's my_chat_member update marks them unreachable.
            log.warning("telegram %s: chat %s refuses messages: %s", self.account, self.parsed.chat_id, e.message)
        except Exception:
            log.exception(
                "telegram %s: reply to update %s for chat %s not fully sent",
                self.account, self.parsed.update_id, self.parsed.chat_id,
            )

    @property
    def _key(self) -> ChatKey:
        assert self.parsed.chat_id is not None
        return (self.account, self.parsed.chat_id)

    async def _answer_press(self) -> None:
        press = self.parsed.press
        assert press is not None
        lang = self.parsed.lang
        chat_id = self.parsed.chat_id
        notice: str | None = None
        new_markup = None
        if self.stale:
            notice = say("stale", lang)
        elif press.meaning.action == "choose":
            label = label_of(press.markup, press.data or "") or str(press.meaning.number)
            notice = say("chosen", lang, label=label)
        elif press.meaning.action == "toggle":
            if press.markup is None or press.message_id is None:
                notice = say("too_old", lang)
            else:
                new_markup = toggled(press.markup, press.meaning.number or 0)
        elif press.meaning.action == "submit":
            if press.markup is None:
                notice = say("too_old", lang)
            elif (numbers := ticked_numbers(press.markup)):
                notice = say("submitted", lang, numbers="、".join(map(str, numbers)))
            else:
                notice = say("tick_first", lang)
        # Answered first: Telegram shows a spinner on the button until then.
        try:
            await _call(partial(self.bot.answer_callback_query, press.query_id, text=notice))
        except TelegramBadRequest as e:
            # Answered already (a redelivered update) or too late: the respondent saw nothing.
            log.info("telegram %s: press %s not answered: %s", self.account, press.query_id, e.message)
        if chat_id is None or press.message_id is None:
            return
        if self.stale:
            await self._remove_keyboard(chat_id, press.message_id)
        elif new_markup is not None:
            async with self.chats.turn(self._key):
                await self._edit_keyboard(chat_id, press.message_id, new_markup)

    async def _send(self, messages: list[OutMessage]) -> None:
        chat_id = self._key[1]
        # The question moves on: take the buttons off the previous one, so an old button
        # cannot answer the new question.
        if (old := self.chats.retire_keyboard(self._key)) is not None:
            await self._remove_keyboard(chat_id, old)
        for m in messages:
            markup = keyboard_for(m, self.parsed.lang)
            parts = _split(m.text)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                sent: Message = await _call(
                    partial(self.bot.send_message, chat_id=chat_id, text=part, reply_markup=markup if last else None)
                )
                if last and markup is not None:
                    self.chats.keyboard_sent(self._key, sent.message_id)

    async def _remove_keyboard(self, chat_id: int, message_id: int) -> None:
        await self._edit_keyboard(chat_id, message_id, None)

    async def _edit_keyboard(self, chat_id: int, message_id: int, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await _call(
                partial(self.bot.edit_message_reply_markup, chat_id=chat_id, message_id=message_id, reply_markup=markup)
            )
        except TelegramBadRequest as e:
            # Already so ("message is not modified": a redelivered press), deleted, or too old
            # to edit: nothing the respondent would notice.
            log.debug("telegram %s: keyboard of message %s not changed: %s", self.account, message_id, e.message)


async def _call(make: Callable[[], Awaitable[T]]) -> T:
    """One Bot API call, waiting out one short flood-control pause (429 retry_after)."""
    try:
        return await make()
    except TelegramRetryAfter as e:
        if e.retry_after > MAX_RETRY_AFTER_S:
            raise
        await asyncio.sleep(e.retry_after)
        return await make()


def _split(text: str) -> list[str]:
    """Telegram refuses texts over 4096 characters: cut at line breaks where possible."""
    parts: list[str] = []
    while len(text) > MAX_TEXT:
        cut = text.rfind("\n", 0, MAX_TEXT)
        if cut <= 0:
            cut = MAX_TEXT
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts

