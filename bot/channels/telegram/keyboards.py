"""Inline keyboards for choice questions, and reading a pressed keyboard back. Pure.

Single choice: one button per option, "1. 非常好", callback data "c:1"; a press answers "1".

Multiple choice: a checklist. Each press ticks or unticks an option by editing the keyboard
in place (callback data "m:<number>:<0|1>" carries the option's current state), and
"选好了 Done" ("m:ok") answers with every ticked number, "1、3". The state lives in the
keyboard itself, so nothing is stored between presses and no half-made answer is recorded.
Typing "1、3" works as before; the checklist spares older respondents the punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.base import OutMessage
from bot.channels.telegram.texts import say

CHOOSE = re.compile(r"c:([0-9]{1,3})")
TOGGLE = re.compile(r"m:([0-9]{1,3}):([01])")
SUBMIT = "m:ok"
TICKED, UNTICKED = "✅ ", "⬜ "
ANSWER_SEPARATOR = "、"  # what the engine's multi-choice parser reads, as people type it


def keyboard_for(message: OutMessage, lang: str) -> InlineKeyboardMarkup | None:
    if not message.choices:
        return None
    if not message.multiple:
        rows = [
            [InlineKeyboardButton(text=f"{c.number}. {c.label}", callback_data=f"c:{c.number}")]
            for c in message.choices
        ]
        return InlineKeyboardMarkup(inline_keyboard=rows)
    rows = [
        [InlineKeyboardButton(text=f"{UNTICKED}{c.number}. {c.label}", callback_data=f"m:{c.number}:0")]
        for c in message.choices
    ]
    rows.append([InlineKeyboardButton(text=say("done_button", lang), callback_data=SUBMIT)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@dataclass(frozen=True, slots=True)
class PressMeaning:
    action: Literal["choose", "toggle", "submit", "unknown"]
    number: int | None = None  # choose, toggle
    ticked: bool = False  # toggle: the option's state before the press


def meaning(data: str | None) -> PressMeaning:
    if data is None:
        return PressMeaning("unknown")
    if m := CHOOSE.fullmatch(data):
        return PressMeaning("choose", int(m[1]))
    if m := TOGGLE.fullmatch(data):
        return PressMeaning("toggle", int(m[1]), ticked=m[2] == "1")
    if data == SUBMIT:
        return PressMeaning("submit")
    return PressMeaning("unknown")


def label_of(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The text of the button carrying `data` ("3. 一般"), without a tick mark."""
    for button in _buttons(markup):
        if button.callback_data == data:
            return button.text.removeprefix(TICKED).removeprefix(UNTICKED)
    return None


def toggled(markup: InlineKeyboardMarkup, number: int) -> InlineKeyboardMarkup | None:
    """The checklist with option `number` flipped; None when the keyboard has no such option."""
    found = False
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            m = TOGGLE.fullmatch(button.callback_data or "")
            if m and int(m[1]) == number:
                found = True
                tick = m[2] != "1"
                text = button.text.removeprefix(TICKED).removeprefix(UNTICKED)
                button = InlineKeyboardButton(
                    text=f"{TICKED if tick else UNTICKED}{text}", callback_data=f"m:{number}:{int(tick)}"
                )
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows) if found else None


def ticked_numbers(markup: InlineKeyboardMarkup | None) -> tuple[int, ...]:
    numbers = []
    for button in _buttons(markup):
        m = TOGGLE.fullmatch(button.callback_data or "")
        if m and m[2] == "1":
            numbers.append(int(m[1]))
    return tuple(sorted(numbers))


def _buttons(markup: InlineKeyboardMarkup | None) -> list[InlineKeyboardButton]:
    if markup is None:
        return []
    return [b for row in markup.inline_keyboard for b in row]
