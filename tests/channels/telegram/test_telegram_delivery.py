"""One reply as Telegram messages, and one message through aiogram to the fake Bot API:
keyboards, Telegram's limits, what each failure means. Press answers after the commit."""

from __future__ import annotations

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
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.outgoing import MAX_TEXT, markup_of, reply_parts
from bot.channels.telegram.parse import parse_update
from bot.channels.telegram.sending import NO_ANSWER, send_row
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


async def send_reply(bot: Bot, *messages: OutMessage, lang: str = "zh") -> list[str]:
    """Send a reply's parts the way a row is sent; the outcome of each."""
    outcomes = []
    for part in reply_parts(Reply(messages), lang):
        sent = await send_row(bot, str(CHAT), part.text, part.template_data)
        outcomes.append("ok" if sent.result.ok else f"{sent.result.errcode}")
    return outcomes


def test_a_reply_becomes_one_row_per_message_with_the_buttons_described() -> None:
    first, second = reply_parts(Reply((OutMessage("谢谢！"), OutMessage("您愿意吗？", CHOICES))), "zh")
    assert (first.text, first.template_data) == ("谢谢！", None)
    assert second.template_data == {
        "choices": [{"code": "yes", "number": 1, "label": "愿意"}, {"code": "no", "number": 2, "label": "不愿意"}],
        "multiple": False,
        "lang": "zh",
    }
    assert reply_parts(Reply((OutMessage("  "),)), "zh") == []  # nothing to say is no row


def test_a_text_over_telegrams_limit_becomes_several_rows_and_the_buttons_go_last() -> None:
    long = "\n".join(f"第{i}行：" + "很长的说明" * 20 for i in range(60))
    assert len(long) > MAX_TEXT
    parts = reply_parts(Reply((OutMessage(long, CHOICES),)), "zh")
    assert len(parts) == 2 and all(len(p.text) <= MAX_TEXT for p in parts)
    assert "\n".join(p.text for p in parts) == long
    assert parts[0].template_data is None and parts[1].template_data is not None
    # A cut that leaves only blanks behind makes no empty row (Telegram refuses those).
    parts = reply_parts(Reply((OutMessage("好" * MAX_TEXT + "\n   ", CHOICES),)), "zh")
    assert [len(p.text) for p in parts] == [MAX_TEXT] and parts[0].template_data is not None


def test_a_keyboard_read_back_from_a_row_is_the_one_the_question_had() -> None:
    [part] = reply_parts(Reply((OutMessage("哪些？", CHOICES, multiple=True),)), "en")
    markup = markup_of(part.template_data)
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["m:1:0"], ["m:2:0"], ["m:ok"]]
    assert markup.inline_keyboard[-1][0].text == "✔ Done"
    assert markup_of(None) is None and markup_of({"note": "no buttons"}) is None
    with pytest.raises(ValueError, match="choices"):
        markup_of({"choices": [{"number": "one"}]})


async def test_messages_go_in_order_with_buttons_on_choice_questions(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    fake = fake_telegram
    assert await send_reply(bot, OutMessage("谢谢！"), OutMessage("您愿意吗？", CHOICES)) == ["ok", "ok"]
    first, second = fake.messages_to(CHAT)
    assert (first["text"], "reply_markup" in first) == ("谢谢！", False)
    assert fake.keyboard_of(second) == [[("1. 愿意", "c:1")], [("2. 不愿意", "c:2")]]
    # No parse mode: respondent-derived text is never read as HTML or Markdown.
    assert all("parse_mode" not in c.params for c in fake.calls_to("sendMessage"))


@pytest.mark.parametrize(
    ("inject", "errcode", "retryable", "permanent", "gone"),
    [
        (lambda f: f.fail_next("sendMessage", 500, "Internal Server Error"), 500, True, False, False),
        (lambda f: f.fail_next("sendMessage", 502, "Bad Gateway"), 500, True, False, False),
        (lambda f: f.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7), 429, True, False, False),
        (lambda f: f.block(CHAT), 403, False, True, True),
        (lambda f: f.fail_next("sendMessage", 400, "Bad Request: chat not found"), 400, False, True, False),
        (lambda f: f.fail_next("sendMessage", 401, "Unauthorized"), 401, False, False, False),
    ],
    ids=["500", "502", "429", "blocked", "chat-not-found", "token-revoked"],
)
async def test_what_each_failure_means_for_the_row(
    bot: Bot, fake_telegram: FakeTelegramApi, inject: Any, errcode: int, retryable: bool, permanent: bool, gone: bool
) -> None:
    inject(fake_telegram)
    sent = await send_row(bot, str(CHAT), "您好", None)
    assert not sent.result.ok
    assert (sent.result.errcode, sent.result.retryable, sent.result.permanent) == (errcode, retryable, permanent)
    assert (sent.gone is not None) == gone
    if errcode == 429:
        assert sent.retry_after == 7
    if gone:
        assert sent.gone == "telegram: Forbidden: bot was blocked by the user (403)"
    assert fake_telegram.texts_to(CHAT) == []


async def test_a_request_that_gets_no_answer_is_retryable(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    fake_telegram.stall_next("sendMessage", 3600)  # no answer before the 1 s timeout
    sent = await send_row(bot, str(CHAT), "您好", None, timeout_s=1)
    assert (sent.result.errcode, sent.result.retryable) == (NO_ANSWER, True)
    assert fake_telegram.texts_to(CHAT) == []
    assert (await send_row(bot, str(CHAT), "您好", None)).result.ok


def delivery(bot: Bot, update: dict[str, Any], *, chats: Chats | None = None, duplicate: bool = False) -> Delivery:
    parsed = parse_update(BOT, Update.model_validate(update), datetime.now(UTC))
    return Delivery(bot, BOT, parsed, Reply((), duplicate=duplicate), chats or Chats())


async def test_a_duplicate_press_is_not_answered_again(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    await send_reply(bot, OutMessage("您愿意吗？", CHOICES))
    calls = len(fake_telegram.calls)
    await delivery(bot, fake_telegram.press(CHAT, "c:1"), duplicate=True)()
    assert len(fake_telegram.calls) == calls


async def test_checklist_notices(bot: Bot, fake_telegram: FakeTelegramApi) -> None:
    fake = fake_telegram
    chats = Chats()
    await send_reply(bot, OutMessage("哪些？", CHOICES, multiple=True))
    await delivery(bot, fake.press(CHAT, "m:ok"), chats=chats)()
    await delivery(bot, fake.press(CHAT, "m:2:0", too_old=True), chats=chats)()
    await delivery(bot, fake.press(CHAT, "m:2:0"), chats=chats)()
    assert list(fake.answered.values()) == [
        "请先点选至少一项，再点“选好了”。",
        "这条消息太久了，请直接回复数字，例如：1",
        None,  # a tick needs no words: the box changes
    ]
    assert fake.keyboard_of(fake.messages_to(CHAT)[0])[1] == [("✅ 2. 不愿意", "m:2:1")]
