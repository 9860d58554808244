"""What one Telegram outbox row holds, and the message it becomes. Pure.

A reply is cut into rows of one `sendMessage` each: a text over Telegram's 4096 characters
becomes several rows, and only the last carries the buttons. One row, one API call, so
"sent" on a row means exactly that message is out, and a retry never repeats a part that
already went.

A row with buttons keeps them in `template_data` (the outbox's per-channel JSON):

    {"choices": [{"code": "good", "number": 2, "label": "好"}, …], "multiple": false,
     "lang": "zh"}

`lang` is the language of the keyboard's own button ("选好了 / Done"), the app language the
update came with, as when the keyboard is sent at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from bot.channels.base import OutMessage, Reply
from bot.channels.telegram.keyboards import keyboard_for
from flows.events import Choice

MAX_TEXT = 4096  # Telegram's limit per message, in characters


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram message of a reply."""

    text: str
    template_data: dict[str, Any] | None = None


def reply_key(delivery_key: str, index: int) -> str:
    """The outbox dedup_key of part `index` of the reply to one delivery."""
    return f"reply:{delivery_key}:{index}"


def reply_parts(reply: Reply, lang: str) -> list[Part]:
    """The reply's messages as Telegram messages, in order; empty messages say nothing."""
    parts: list[Part] = []
    for message in reply.messages:
        if not message.text.strip():
            continue
        # Telegram and the outbox refuse a blank text: a cut may leave only spaces behind.
        texts = [t for t in split(message.text) if t.strip()]
        for text in texts[:-1]:
            parts.append(Part(text))
        parts.append(Part(texts[-1], keyboard_data(message, lang)))
    return parts


def keyboard_data(message: OutMessage, lang: str) -> dict[str, Any] | None:
    if not message.choices:
        return None
    return {
        "choices": [{"code": c.code, "number": c.number, "label": c.label} for c in message.choices],
        "multiple": message.multiple,
        "lang": lang,
    }


def markup_of(template_data: Mapping[str, Any] | None, fallback_lang: str = "zh") -> InlineKeyboardMarkup | None:
    """The inline keyboard a row's `template_data` describes; None for a row without one.

    Raises ValueError for data this module did not write (a row queued by hand, say).
    """
    if not template_data or not template_data.get("choices"):
        return None
    try:
        choices = tuple(
            Choice(code=str(c["code"]), number=int(c["number"]), label=str(c["label"]))
            for c in template_data["choices"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"template_data choices are not [{{code, number, label}}, …]: {exc}") from None
    lang = template_data.get("lang") or fallback_lang
    return keyboard_for(OutMessage("", choices, bool(template_data.get("multiple"))), str(lang))


def split(text: str) -> list[str]:
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
