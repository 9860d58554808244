"""After the commit: answer the press, then send the reply's outbox rows at once (eager send).

The rows were written in the turn's transaction and claimed for this send (outbox.py). Each
is marked "sent" as soon as Telegram answered ok; a row that could not go (no answer, 5xx,
flood control, an operator problem) goes back to "pending", with the rows after it, and the
dispatcher's Telegram sender sends them later, in order. A chat that blocked the bot (403)
has its rows marked unreachable and its respondent too. Nothing here raises: a failure to
record an outcome is logged and the row is reclaimed by a worker after the outbox's
stale_after (it may then go twice, never not at all).

Answering a press and editing keyboards are not kept: they only matter in the moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup

from bot.channels.base import Reply
from bot.channels.telegram.chats import ChatKey, Chats
from bot.channels.telegram.keyboards import label_of, ticked_numbers, toggled
from bot.channels.telegram.parse import CHANNEL, Parsed
from bot.channels.telegram.sending import OUT_OF_TIME, REQUEST_TIMEOUT_S, WAITING, Sent, send_row
from bot.channels.telegram.texts import say
from bot.dispatch.sender import backoff
from bot.services import outbound
from bot.services.outbound import Kept, KeptRow

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RETRY_AFTER_S = 10.0  # flood control on a press's answer: wait this long at most, once
# The eager send starts no call later than this after its claim (waiting for the chat's
# turn included) and leaves the rest to the worker. With each call capped at
# REQUEST_TIMEOUT_S it is over well before the claim could be taken as stale (≥ 30 s).
EAGER_BUDGET = timedelta(seconds=15)
VIA = "eager"  # outbox `via` of rows sent right after the commit; the worker's say "bot"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Delivery:
    bot: Bot
    account: str
    parsed: Parsed
    reply: Reply | None
    chats: Chats
    stale: bool = False  # a press on a keyboard whose question has passed
    db: Database | None = None  # where the kept rows are; None only when there are none
    kept: Kept = field(default_factory=Kept)
    clock: Callable[[], datetime] = utcnow

    async def __call__(self) -> None:
        if self.reply is not None and self.reply.duplicate:
            return  # the first delivery of this update answered the press and kept the reply
        if self.parsed.press is not None:
            try:
                await self._answer_press()
            except Exception:
                log.exception("telegram %s: press in update %s not answered", self.account, self.parsed.update_id)
        if not self.kept.rows or self.parsed.chat_id is None:
            return
        if not self.kept.eager:
            self.chats.forget(self._key)  # the worker sends them, after earlier ones
            return
        try:
            async with self.chats.turn(self._key):
                await self._send_kept(list(self.kept.rows))
        except Exception:
            log.exception(
                "telegram %s: reply to update %s for chat %s not fully sent; the outbox keeps "
                "the rest (a worker takes it after stale_after)",
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

    async def _send_kept(self, rows: list[KeptRow]) -> None:
        key, chat = self._key, str(self._key[1])
        if self.kept.after_earlier:
            # Checked again now that this chat's turn is ours: an earlier reply may have
            # failed meanwhile, or a worker may be sending an earlier row right now.
            assert self.db is not None
            due = await outbound.earlier_unsent(self.db, CHANNEL, self.account, chat, rows[0].id)
            if due is not None:
                reason = "waiting for an earlier message to this chat"
                await self._release(rows, WAITING, reason, max(due, self.clock()))
                return
        assert self.kept.claimed_at is not None
        deadline = self.kept.claimed_at + EAGER_BUDGET
        # The question moves on: take the buttons off the previous one, so an old button
        # cannot answer the new question.
        if (old := self.chats.retire_keyboard(key)) is not None and self.clock() < deadline:
            try:
                await self.bot.edit_message_reply_markup(
                    chat_id=key[1], message_id=old, reply_markup=None, request_timeout=REQUEST_TIMEOUT_S
                )
            except Exception as e:  # noqa: BLE001 — the reply matters more; its send will tell
                log.info("telegram %s: old keyboard in chat %s not removed: %s", self.account, key[1], e)
        for i, row in enumerate(rows):
            if self.clock() > deadline:
                await self._release(rows[i:], OUT_OF_TIME, "eager send ran out of time", self.clock())
                return
            sent = await send_row(self.bot, chat, row.text, row.template_data, fallback_lang=self.parsed.lang)
            now = self.clock()
            if sent.result.ok:
                if sent.has_keyboard and sent.message_id is not None:
                    self.chats.keyboard_sent(key, sent.message_id)
                await outbound.record_sent(self._db, row.id, via=VIA, now=now)
                continue
            if sent.gone is not None:
                await self._gone(rows[i:], sent, now)
                return
            if sent.result.permanent:
                reason = f"{sent.result.reason}: {sent.result.errmsg}"
                log.warning("telegram %s: message to chat %s failed: %s", self.account, chat, reason)
                await outbound.record_failed(self._db, row.id, errcode=sent.result.errcode, reason=reason)
                continue  # that message will never go; holding back the next ones helps nobody
            wait = timedelta(seconds=sent.retry_after) if sent.retry_after else backoff(1)
            log.warning(
                "telegram %s: message to chat %s not sent (%s %s); the outbox retries it",
                self.account, chat, sent.result.errcode, sent.result.errmsg,
            )
            await self._release(rows[i:], sent.result.errcode, sent.result.errmsg, now + wait)
            return

    async def _release(self, rows: list[KeptRow], errcode: int, error: str, next_at: datetime) -> None:
        """Hand `rows` to the worker: the first with this error, the rest behind it."""
        self.chats.forget(self._key)
        await outbound.hand_to_worker(
            self._db, [row.id for row in rows], errcode=errcode, error=error, waiting_code=WAITING, next_at=next_at
        )

    async def _gone(self, rows: list[KeptRow], sent: Sent, now: datetime) -> None:
        assert sent.gone is not None
        log.warning("telegram %s: chat %s refuses messages: %s", self.account, self._key[1], sent.result.errmsg)
        self.chats.forget(self._key)
        await outbound.record_recipient_gone(
            self._db,
            [row.id for row in rows],
            respondent_id=self.kept.respondent_id,
            reason=sent.gone,
            errcode=sent.result.errcode,
            actor="telegram",
            now=now,
        )

    @property
    def _db(self) -> Database:
        assert self.db is not None, "kept rows always come with their database"
        return self.db

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

