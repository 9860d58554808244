"""An aiogram `Update` → what the runtime should hear. Pure: no network, no clock, no database.

Only private chats count: a survey is a conversation with one person, and in a group the chat
id would merge everyone into one respondent. Updates the bot does not act on (edits, group
messages, service messages, other membership changes) parse to `Parsed` with nothing in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from aiogram.types import InaccessibleMessage, InlineKeyboardMarkup, Message, Update

from bot.channels.base import Inbound, clip_text, storable
from bot.channels.base import delivery_key as _delivery_key
from bot.channels.telegram.keyboards import ANSWER_SEPARATOR, PressMeaning, meaning, ticked_numbers
from bot.channels.telegram.texts import lang_hint

CHANNEL = "telegram"

# Telegram promises its ids fit in a double (52 bits); anything larger is not from Telegram.
_MAX_ID = 2**53
MAX_START_PAYLOAD = 64  # deep links carry at most 64 characters
# "/start", "/start PAYLOAD" (a t.me/<bot>?start=PAYLOAD deep link or typed by hand), and
# the group form "/start@bot PAYLOAD".
_START = re.compile(r"/start(?:@[A-Za-z0-9_]+)?(?:\s+(?P<payload>.*))?", re.IGNORECASE | re.DOTALL)
_COMMAND = re.compile(r"(/[A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?")
# Commands from the bot's menu, said the way a respondent would type them. "/stop" asks the
# engine to confirm before opting out, exactly as typing 退订 does.
COMMAND_WORDS = {"/stop": "退订", "/help": "帮助"}
# Content a person sent that the bot cannot read; service messages are not listed.
UNSUPPORTED = frozenset(
    {
        "animation", "audio", "checklist", "contact", "dice", "document", "game", "live_photo",
        "location", "paid_media", "photo", "poll", "sticker", "story", "venue", "video",
        "video_note", "voice",
    }
)  # fmt: skip


class BadUpdate(ValueError):
    """Not something Telegram sends: refuse it (400) and change nothing."""


@dataclass(frozen=True, slots=True)
class Press:
    """An inline-button press; Telegram waits for answerCallbackQuery to stop the spinner."""

    query_id: str
    meaning: PressMeaning
    data: str | None
    # The message whose keyboard was pressed, as the respondent saw it; None when Telegram
    # no longer shows it to bots (older than 48 hours) or it is not in a chat.
    message_id: int | None
    markup: InlineKeyboardMarkup | None


@dataclass(frozen=True, slots=True)
class Parsed:
    update_id: int
    chat_id: int | None = None  # None: not a private chat we answer in
    lang: str = "zh"
    inbound: Inbound | None = None  # None: nothing for the runtime
    press: Press | None = None


def delivery_key(account: str, update_id: int) -> str:
    return _delivery_key(CHANNEL, account, f"upd:{update_id}")


def parse_update(account: str, update: Update, now: datetime) -> Parsed:
    _check_id(update.update_id, "update_id")
    if update.message is not None:
        return _message(account, update.update_id, update.message, now)
    if update.callback_query is not None:
        return _press(account, update, now)
    if update.my_chat_member is not None:
        return _membership(account, update, now)
    return Parsed(update.update_id)


def _message(account: str, update_id: int, m: Message, now: datetime) -> Parsed:
    if m.chat.type != "private" or m.from_user is None or m.from_user.is_bot:
        return Parsed(update_id)
    _check_id(m.chat.id, "chat id")
    lang = lang_hint(m.from_user.language_code)
    base = _inbound_base(account, update_id, m.chat.id, now, lang)
    if m.text is not None:
        _check_text(m.text, "message text")
        text = m.text.strip()
        if start := _START.fullmatch(text):
            payload = (start["payload"] or "").strip()[:MAX_START_PAYLOAD] or None
            inbound = Inbound(**base, kind="start", text=clip_text(m.text), start_payload=payload)
        else:
            command = _COMMAND.fullmatch(text)
            words = COMMAND_WORDS.get(command[1].lower()) if command else None
            inbound = Inbound(**base, kind="text", text=words or clip_text(m.text))
        return Parsed(update_id, m.chat.id, lang, inbound)
    content = getattr(m.content_type, "value", m.content_type)  # aiogram's ContentType enum
    if content in UNSUPPORTED:
        # A text is given so the runtime treats it as a message (the engine answers "please
        # reply in words"), and the inbound record says what arrived.
        return Parsed(update_id, m.chat.id, lang, Inbound(**base, kind="unsupported", text=f"[{content}]"))
    return Parsed(update_id)


def _press(account: str, update: Update, now: datetime) -> Parsed:
    q = update.callback_query
    assert q is not None
    if q.data is not None:
        _check_text(q.data, "callback data")
    lang = lang_hint(q.from_user.language_code)
    what = meaning(q.data)
    message = q.message
    chat = message.chat if isinstance(message, Message | InaccessibleMessage) else None
    if chat is None or chat.type != "private":
        # Still answered, so the button stops spinning; nothing else happens.
        return Parsed(update.update_id, lang=lang, press=Press(q.id, PressMeaning("unknown"), q.data, None, None))
    _check_id(chat.id, "chat id")
    press = Press(
        q.id,
        what,
        q.data,
        message.message_id if isinstance(message, Message) else None,
        message.reply_markup if isinstance(message, Message) else None,
    )
    text: str | None = None
    if what.action == "choose":
        text = str(what.number)
    elif what.action == "submit" and (numbers := ticked_numbers(press.markup)):
        text = ANSWER_SEPARATOR.join(str(n) for n in numbers)
    inbound = None
    if text is not None:
        # "choice": a button press; the runtime reads its text like typed text.
        base = _inbound_base(account, update.update_id, chat.id, now, lang)
        inbound = Inbound(**base, kind="choice", text=text)
    return Parsed(update.update_id, chat.id, lang, inbound, press)


def _membership(account: str, update: Update, now: datetime) -> Parsed:
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != "private" or change.new_chat_member.status != "kicked":
        return Parsed(update.update_id)  # unblocking is followed by /start, which is enough
    _check_id(change.chat.id, "chat id")
    lang = lang_hint(change.from_user.language_code)
    base = _inbound_base(account, update.update_id, change.chat.id, now, lang)
    # Nothing can be sent to someone who blocked the bot: no chat id to answer in.
    return Parsed(update.update_id, None, lang, Inbound(**base, kind="unreachable"))


def _inbound_base(account: str, update_id: int, chat_id: int, now: datetime, lang: str) -> dict:
    return {
        "channel": CHANNEL,
        "account": account,
        "external_id": str(chat_id),
        "delivery_key": delivery_key(account, update_id),
        "at": now,
        "lang": lang,
    }


def _check_id(value: int, what: str) -> None:
    if not -_MAX_ID < value < _MAX_ID:
        raise BadUpdate(f"{what} out of range")


def _check_text(value: str, what: str) -> None:
    # The reason only: the text itself stays out of the error and so out of the logs.
    if not storable(value):
        raise BadUpdate(f"{what} has a NUL or a lone surrogate")
