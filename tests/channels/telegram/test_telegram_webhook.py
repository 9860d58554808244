"""The Telegram webhook end to end: the real app, runtime and database, a fake Bot API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import InboundMessage
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.channels.telegram.conftest import BOT, SECRET, TelegramApp

CHAT = 5_550_001


async def inbound_count(t: TelegramApp) -> int:
    async with t.db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(InboundMessage))


async def respondent_of(t: TelegramApp, chat: int = CHAT) -> Any:
    async with t.db.transaction() as s:
        return await RespondentRepository(s).by_identity("telegram", BOT, str(chat))


async def answers_of(t: TelegramApp, chat: int = CHAT) -> tuple[str, dict[str, Any]]:
    """The status of the respondent's only session and its answers by question."""
    async with t.db.transaction() as s:
        person = await RespondentRepository(s).by_identity("telegram", BOT, str(chat))
        assert person is not None
        sessions = await SessionRepository(s).list_for_respondent(person.id)
        assert len(sessions) == 1
        answers = await AnswerRepository(s).for_session(sessions[0].id)
        return sessions[0].status, {a.question_id: a.value for a in answers}


async def say(t: TelegramApp, text: str, chat: int = CHAT, **kwargs: Any) -> list[str]:
    """The respondent types `text`; returns what the bot sent back."""
    before = len(t.fake.texts_to(chat))
    response = await t.post(t.fake.user_says(chat, text, **kwargs))
    assert response.status_code == 200, response.text
    return t.fake.texts_to(chat)[before:]


async def press(t: TelegramApp, data: str, chat: int = CHAT) -> list[str]:
    before = len(t.fake.texts_to(chat))
    response = await t.post(t.fake.press(chat, data))
    assert response.status_code == 200, response.text
    return t.fake.texts_to(chat)[before:]


def last_toast(t: TelegramApp) -> str | None:
    return t.fake.calls_to("answerCallbackQuery")[-1].params.get("text")


async def test_a_whole_survey_with_buttons_and_typed_chinese(telegram_app: TelegramApp) -> None:
    t = telegram_app
    [greeting] = await say(t, "/start humanitarian_aid")
    assert "红十字会" in greeting and "您愿意回答几个简短的问题吗" in greeting

    [overall] = await say(t, "好的")
    assert overall.startswith("您对红十字会的救助项目，总体评价怎么样？")
    question = t.fake.messages_to(CHAT)[-1]
    assert t.fake.keyboard_of(question) == [
        [("1. 非常好", "c:1")], [("2. 好", "c:2")], [("3. 一般", "c:3")], [("4. 不好", "c:4")]
    ]  # fmt: skip

    [improve] = await press(t, "c:3")
    assert last_toast(t) == "已选择：3. 一般"
    assert improve.startswith("很抱歉让您不满意")
    # The answered question's buttons are gone: an old button cannot answer a new question.
    assert t.fake.keyboard_of(t.fake.messages_to(CHAT)[-2]) == []

    [main_problem] = await say(t, "等的时间太长了，手续也麻烦")
    assert main_problem.startswith("您觉得现在的救助项目，最主要的问题是什么？")
    [other_services] = await press(t, "c:3")
    assert "可以多选" in other_services

    # The multiple-choice question is a checklist: ticking edits the keyboard, records nothing.
    recorded = await inbound_count(t)
    assert await press(t, "m:1:0") == []
    assert await press(t, "m:3:0") == []
    assert await inbound_count(t) == recorded
    checklist = t.fake.keyboard_of(t.fake.messages_to(CHAT)[-1])
    assert checklist == [
        [("✅ 1. 心理疏导", "m:1:1")],
        [("⬜ 2. 政策引导", "m:2:0")],
        [("✅ 3. 关怀陪伴", "m:3:1")],
        [("⬜ 4. 社会融入", "m:4:0")],
        [("⬜ 5. 暂时不需要", "m:5:0")],
        [("✔ 选好了，提交", "m:ok")],
    ]
    [opinion] = await press(t, "m:ok")
    assert last_toast(t) == "已提交：1、3"
    assert opinion.startswith("最后，您对我们的工作还有什么意见或建议吗？")

    [closing] = await say(t, "希望审批能再快一点，谢谢你们")
    assert closing.startswith("问卷完成了，非常感谢您！")

    status, answers = await answers_of(t)
    assert status == "completed"
    assert answers == {
        "overall": "average",
        "improve": "等的时间太长了，手续也麻烦",
        "main_problem": "waiting_too_long",
        "other_services": ["counselling", "care_companionship"],
        "opinion": "希望审批能再快一点，谢谢你们",
    }
    person = await respondent_of(t)
    assert person.category == "humanitarian_aid" and person.lang == "zh" and person.consent_at is not None
    # Every press was answered, so no button in the respondent's app kept spinning.
    assert len(t.fake.answered) == 5


async def test_every_update_delivered_twice_is_recorded_once_and_answered_once(telegram_app: TelegramApp) -> None:
    t = telegram_app
    updates = [t.fake.user_says(CHAT, "/start humanitarian_aid"), t.fake.user_says(CHAT, "好的")]
    for update in updates:
        assert (await t.post(update)).status_code == 200
        assert (await t.post(update)).status_code == 200  # Telegram redelivers
    pressed = t.fake.press(CHAT, "c:1")
    assert (await t.post(pressed)).status_code == 200
    assert (await t.post(pressed)).status_code == 200
    typed = t.fake.user_says(CHAT, "都挺好")
    assert (await t.post(typed)).status_code == 200
    assert (await t.post(typed)).status_code == 200

    assert await inbound_count(t) == 4
    assert len(t.fake.calls_to("sendMessage")) == 4  # greeting, overall, main_problem, other_services
    assert list(t.fake.answered.values()) == ["已选择：1. 非常好"]  # answered once
    _, answers = await answers_of(t)
    assert answers == {"overall": "very_good", "main_problem": "none"}


async def test_a_wrong_or_missing_secret_is_refused_and_changes_nothing(telegram_app: TelegramApp) -> None:
    t = telegram_app
    update = t.fake.user_says(CHAT, "/start humanitarian_aid")
    for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x", SECRET.upper(), "密钥".encode()):
        response = await t.post(update, secret=secret)
        assert response.status_code == 403, secret
    assert (await t.client.post("/telegram/some_other_bot", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})).status_code == 404
    assert await inbound_count(t) == 0
    assert await respondent_of(t) is None
    assert t.fake.calls == []


async def test_malformed_bodies_are_refused_with_400_and_change_nothing(telegram_app: TelegramApp) -> None:
    t = telegram_app
    bad: list[Any] = [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b"null",
        {},  # no update_id
        {"update_id": "abc", "message": {}},
        {"update_id": 1, "message": {"text": "缺少 chat"}},
        {"update_id": 2**64, "message": None},
        {"update_id": 3, "callback_query": {"id": 5}},
        "[" * 100_000 + "]" * 100_000,
    ]
    for body in bad:
        response = await t.post(body)
        assert response.status_code == 400, body if not isinstance(body, str) else "deep nesting"
    # PostgreSQL refuses U+0000 in text; a lone surrogate cannot be encoded as UTF-8.
    for text in ("好\x00的", "好\ud800"):
        # As Telegram sends them: JSON escapes (\u0000, \ud800), which json.loads turns back.
        response = await t.post(json.dumps(t.fake.user_says(CHAT, text)))
        assert response.status_code == 400, repr(text)
        assert text not in response.text
    too_big = t.fake.user_says(CHAT, "好" * 100_000)
    assert (await t.post(too_big)).status_code == 413
    assert await inbound_count(t) == 0
    assert t.fake.calls == []


async def test_stop_then_yes_opts_out_and_the_bot_falls_silent(telegram_app: TelegramApp) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    await say(t, "好的")
    [confirm] = await say(t, "/stop")
    assert "您确定要退订吗" in confirm
    [bye] = await say(t, "1")
    assert "已为您退订" in bye
    person = await respondent_of(t)
    assert person.opted_out_at is not None

    sent = len(t.fake.calls_to("sendMessage"))
    assert await say(t, "你好") == []
    assert await say(t, "/help") == []
    assert (await t.post(t.fake.user_sends(CHAT, "voice"))).status_code == 200
    assert len(t.fake.calls_to("sendMessage")) == sent


async def test_a_voice_message_gets_a_polite_request_for_text(telegram_app: TelegramApp) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    await say(t, "好的")
    before = len(t.fake.texts_to(CHAT))
    assert (await t.post(t.fake.user_sends(CHAT, "voice"))).status_code == 200
    sorry, again = t.fake.texts_to(CHAT)[before:]
    assert sorry == "抱歉，暂时只能识别文字，请用文字回复。"
    assert again.startswith("您对红十字会的救助项目，总体评价怎么样？")
    # The question is asked again, with its buttons.
    assert t.fake.keyboard_of(t.fake.messages_to(CHAT)[-1])[0] == [("1. 非常好", "c:1")]
    async with t.db.transaction() as s:
        kinds = (await s.scalars(select(InboundMessage.kind).order_by(InboundMessage.id))).all()
    assert kinds == ["start", "text", "unsupported"]


async def test_plain_start_asks_which_group_and_a_button_picks_it(telegram_app: TelegramApp) -> None:
    t = telegram_app
    [_menu] = await say(t, "/start")
    buttons = [row[0] for row in t.fake.keyboard_of(t.fake.messages_to(CHAT)[-1])]
    number = next(data for text, data in buttons if "人道救助" in text)
    [greeting] = await press(t, number)
    assert "您之前得到过我们的救助" in greeting
    assert (await respondent_of(t)).category == "humanitarian_aid"


async def test_an_old_button_cannot_answer_a_later_question(telegram_app: TelegramApp) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    await say(t, "好的")
    overall_id = t.fake.messages_to(CHAT)[-1]["message_id"]
    await say(t, "非常好")  # typed, not pressed: the buttons stay on screen until replaced
    assert t.fake.keyboard_of(t.fake.messages_to(CHAT)[-2]) == []  # …and they were removed
    recorded = await inbound_count(t)

    # A slow app still shows the old keyboard and sends the press.
    response = await t.post(t.fake.press_on(CHAT, overall_id, "c:4"))
    assert response.status_code == 200
    assert last_toast(t) == "这道题已经过去了，请回答最新的问题。"
    assert await inbound_count(t) == recorded
    _, answers = await answers_of(t)
    assert answers == {"overall": "very_good"}


async def test_blocking_the_bot_marks_the_respondent_unreachable(telegram_app: TelegramApp) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    assert (await t.post(t.fake.user_blocks_bot(CHAT))).status_code == 200
    person = await respondent_of(t)
    assert person.unreachable_at is not None and "telegram" in person.unreachable_reason
    status, _ = await answers_of(t)
    assert status == "expired"


async def test_an_english_app_gets_english(telegram_app: TelegramApp) -> None:
    t = telegram_app
    [greeting] = await say(t, "/start humanitarian_aid", lang="en-GB")
    assert greeting.startswith("Hello! This is the Red Cross.")
    assert (await respondent_of(t)).lang == "en"


async def test_register_webhook_gives_telegram_the_url_and_secret(fake_telegram: Any) -> None:
    from bot.channels.telegram.config import TelegramBot
    from bot.channels.telegram.webhook import register_webhook
    from tests.channels.telegram.conftest import TOKEN

    config = TelegramBot(name=BOT, token=TOKEN, webhook_secret=SECRET)
    url = await register_webhook(config, "https://huifang.example.org/", fake_telegram.base_url)
    assert url == f"https://huifang.example.org/telegram/{BOT}"
    assert fake_telegram.webhook["url"] == url
    assert fake_telegram.webhook["secret_token"] == SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    with pytest.raises(ValueError, match="https"):
        await register_webhook(config, "http://huifang.example.org", fake_telegram.base_url)
    with pytest.raises(ValueError, match="webhook_secret"):
        await register_webhook(TelegramBot(name=BOT, token=TOKEN), "https://x.org", fake_telegram.base_url)


async def test_huifang_telegram_webhook_registers_the_configured_bot(fake_telegram: Any) -> None:
    import asyncio
    import os
    import sys

    from tests.channels.telegram.conftest import TOKEN

    bots = json.dumps([{"name": BOT, "token": TOKEN, "webhook_secret": SECRET}])
    env = {**os.environ, "HUIFANG_TELEGRAM_BOTS": bots, "HUIFANG_TELEGRAM_API_BASE": fake_telegram.base_url}

    async def run(*args: str) -> tuple[int, str]:
        # A process of its own: the fake Bot API answers on this test's event loop.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "telegram-webhook", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode or 0, out.decode()

    code, out = await run("https://huifang.example.org")
    assert code == 0, out
    assert f"registered: Telegram posts {BOT}'s updates to https://huifang.example.org/telegram/{BOT}" in out
    assert fake_telegram.webhook["secret_token"] == SECRET
    code, out = await run("http://plain.example.org")
    assert code == 1 and "not registered" in out and "https" in out
