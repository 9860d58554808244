"""Sending replies through aiogram to the fake Bot API: keyboards, limits, failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.types import Update

from bot.channels.base import OutMessage, Reply
from bot.channels.telegram.chats import Chats
from bot.channels.telegram.config import make_bot
from bot.channels.telegram.delivery import MAX_TEXT, Delivery
from bot.channels.telegram.parse import parse_update
from flows.events import Choice
from tests.channels.telegram.conftest import BOT, TOKEN
from tests.fakes.telegram_api import FakeTelegramApi

CHAT = 4_040_404
CHOICES = (Choice("yes", 1, "愿意"), Choice("no", 2, "不愿意"))


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramApi) -> AsyncIterator[Bot]:
    bot = make_bot(TOKEN, fake_telegram.base_url)
    try:
        yield bot
    finally:
        await bot.session.close()


def delivery(bot: Bot, update: dict[str, Any], *messages: OutMessage, chats: Chats | None = None,
             duplicate: bool = False) -> Delivery:  # fmt: skip
    parsed = parse_update(BOT, Update.model_validate(update), datetime.now(UTC))
    return Delivery(bot, BOT, parsed, Reply(tuple(messages), duplicate=duplicate), chats or Chats())


async def test_messages_are_sent_in_order_with_buttons_on_choice_questions(
    bot: Bot, fake_telegram: FakeTelegramApi
) -> None:
    fake = fake_telegram
    await delivery(bot, fake.user_says(CHAT, "好的"), OutMessage("谢谢！"), OutMessage("您愿意吗？", CHOICES))()
    first, second = fake.messages_to(CHAT)
    assert (first["text"], "reply_markup" in first) == ("谢谢！", False)
    assert fake.keyboard_of(second) == [[("1. 愿意", "c:1")], [("2. 不愿意", "c:2")]]
    # No parse mode: respondent-derived text is never read as HTML or Markdown.
    assert all("parse_mode" not in c.params for c in fake.calls_to("sendMessage"))


async def test_a_duplicate_reply_is_not_sent_again(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    await delivery(bot, fake_telegram.user_says(CHAT, "好的"), OutMessage("谢谢！"), duplicate=True)()
    assert fake_telegram.calls == []


async def test_a_text_over_telegrams_limit_is_split_and_the_buttons_go_last(
    bot: Bot, fake_telegram: FakeTelegramApi
) -> None:
    long = "\n".join(f"第{i}行：" + "很长的说明" * 20 for i in range(60))
    assert len(long) > MAX_TEXT
    await delivery(bot, fake_telegram.user_says(CHAT, "帮助"), OutMessage(long, CHOICES))()
    parts = fake_telegram.messages_to(CHAT)
    assert len(parts) == 2 and all(len(p["text"]) <= MAX_TEXT for p in parts)
    assert "\n".join(p["text"] for p in parts) == long
    assert "reply_markup" not in parts[0] and fake_telegram.keyboard_of(parts[1])[0] == [("1. 愿意", "c:1")]


async def test_flood_control_is_waited_out_once(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await delivery(bot, fake_telegram.user_says(CHAT, "好的"), OutMessage("谢谢！"))()
    assert fake_telegram.texts_to(CHAT) == ["谢谢！"]
    assert len(fake_telegram.calls_to("sendMessage")) == 2


async def test_a_blocked_chat_is_logged_and_the_rest_of_the_reply_dropped(
    bot: Bot, fake_telegram: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    update = fake_telegram.user_says(CHAT, "好的")
    fake_telegram.block(CHAT)
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        await delivery(bot, update, OutMessage("一"), OutMessage("二"))()
    assert len(fake_telegram.calls_to("sendMessage")) == 1
    assert any("refuses messages" in r.getMessage() for r in caplog.records)


async def test_checklist_notices(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    fake = fake_telegram
    chats = Chats()
    await delivery(bot, fake.user_says(CHAT, "好的"), OutMessage("哪些？", CHOICES, multiple=True), chats=chats)()
    await delivery(bot, fake.press(CHAT, "m:ok"), chats=chats)()
    await delivery(bot, fake.press(CHAT, "m:2:0", too_old=True), chats=chats)()
    await delivery(bot, fake.press(CHAT, "m:2:0"), chats=chats)()
    assert list(fake.answered.values()) == [
        "请先点选至少一项，再点“选好了”。",
        "这条消息太久了，请直接回复数字，例如：1",
        None,  # a tick needs no words: the box changes
    ]
    assert fake.keyboard_of(fake.messages_to(CHAT)[0])[1] == [("✅ 2. 不愿意", "m:2:1")]
