"""Telegram updates → Inbound, and the inline keyboards: pure, table-driven, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Update

from bot.channels.base import OutMessage
from bot.channels.telegram.keyboards import keyboard_for, meaning, ticked_numbers, toggled
from bot.channels.telegram.parse import BadUpdate, parse_update
from flows.events import Choice
from tests.fakes.telegram_api import FakeTelegramApi

NOW = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
BOT = "huifang_test_bot"
CHAT = 777


def parse(update: dict[str, Any]) -> Any:
    return parse_update(BOT, Update.model_validate(update), NOW)


def fake() -> FakeTelegramApi:
    return FakeTelegramApi(username=BOT)  # only its update builders; no server started


@pytest.mark.parametrize(
    ("text", "kind", "inbound_text", "payload"),
    [
        ("/start humanitarian_aid", "start", "/start humanitarian_aid", "humanitarian_aid"),
        ("/start", "start", "/start", None),
        ("/start@huifang_test_bot volunteer", "start", "/start@huifang_test_bot volunteer", "volunteer"),
        ("  /START   人道救助 ", "start", "  /START   人道救助 ", "人道救助"),
        ("/stop", "text", "退订", None),
        ("/stop@huifang_test_bot", "text", "退订", None),
        ("/help", "text", "帮助", None),
        ("/skip", "text", "/skip", None),  # the engine knows it
        ("好的", "text", "好的", None),
        ("1、3", "text", "1、3", None),
        ("/starting a sentence", "text", "/starting a sentence", None),
    ],
)
def test_text_messages(text: str, kind: str, inbound_text: str, payload: str | None) -> None:
    parsed = parse(fake().user_says(CHAT, text))
    inbound = parsed.inbound
    assert (inbound.kind, inbound.text, inbound.start_payload) == (kind, inbound_text, payload)
    assert inbound.channel == "telegram" and inbound.account == BOT and inbound.external_id == str(CHAT)
    assert inbound.delivery_key == f"telegram:{BOT}:upd:{parsed.update_id}"
    assert inbound.at == NOW and parsed.chat_id == CHAT


def test_a_long_start_payload_is_cut_to_what_a_deep_link_can_carry() -> None:
    parsed = parse(fake().user_says(CHAT, "/start " + "x" * 500))
    assert parsed.inbound.start_payload == "x" * 64


@pytest.mark.parametrize("kind", ["voice", "photo", "sticker", "location", "document"])
def test_what_cannot_be_read_is_unsupported(kind: str) -> None:
    inbound = parse(fake().user_sends(CHAT, kind)).inbound
    assert inbound.kind == "unsupported" and inbound.text == f"[{kind}]"


@pytest.mark.parametrize(
    ("code", "lang"), [("en", "en"), ("en-US", "en"), ("EN-gb", "en"), ("zh-hans", "zh"), ("ru", "zh"), (None, "zh")]
)
def test_language_hint(code: str | None, lang: str) -> None:
    parsed = parse(fake().user_says(CHAT, "你好", lang=code))
    assert parsed.lang == lang and parsed.inbound.lang == lang


def test_blocking_the_bot_is_unreachable_and_nothing_is_sent_back() -> None:
    parsed = parse(fake().user_blocks_bot(CHAT))
    assert parsed.inbound.kind == "unreachable" and parsed.inbound.external_id == str(CHAT)
    assert parsed.chat_id is None


def test_what_the_bot_does_not_act_on_parses_to_nothing() -> None:
    f = fake()
    group = f.user_says(CHAT, "好的")
    group["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "志愿者群"}
    edited = f.user_says(CHAT, "改过的")
    edited["edited_message"] = edited.pop("message")
    from_bot = f.user_says(CHAT, "hi")
    from_bot["message"]["from"]["is_bot"] = True
    service = f.user_says(CHAT, "x")
    del service["message"]["text"]
    service["message"]["pinned_message"] = {"chat": service["message"]["chat"], "message_id": 1, "date": 0}
    unblocked = f.user_blocks_bot(CHAT)
    unblocked["my_chat_member"]["new_chat_member"] = {"status": "member", "user": f._bot_user()}
    for update in (group, edited, from_bot, service, unblocked):
        parsed = parse(update)
        assert parsed.inbound is None and parsed.press is None


def test_ids_beyond_what_telegram_uses_are_refused() -> None:
    update = fake().user_says(CHAT, "好的")
    update["message"]["chat"]["id"] = 2**60
    with pytest.raises(BadUpdate):
        parse(update)


def _shown(f: FakeTelegramApi, message: OutMessage) -> None:
    """Put a bot message with this keyboard into the fake chat, as sendMessage would."""
    markup = keyboard_for(message, "zh")
    msg = {
        "message_id": f._next_message_id(CHAT), "date": 0, "chat": {"id": CHAT, "type": "private"},
        "from": f._bot_user(), "text": message.text,
        "reply_markup": markup.model_dump(mode="json", exclude_none=True) if markup else None,
    }  # fmt: skip
    f._messages[CHAT][msg["message_id"]] = msg


CHOICES = (Choice("a", 1, "非常好"), Choice("b", 2, "好"), Choice("c", 3, "一般"))


def test_a_button_press_is_a_choice_of_its_number() -> None:
    f = fake()
    _shown(f, OutMessage("总体评价？", CHOICES))
    parsed = parse(f.press(CHAT, "c:2"))
    assert (parsed.inbound.kind, parsed.inbound.text) == ("choice", "2")
    assert parsed.press.meaning.action == "choose" and parsed.press.message_id == 1


def test_the_checklist_submits_every_ticked_number() -> None:
    f = fake()
    _shown(f, OutMessage("哪些帮助？", CHOICES, multiple=True))
    message = f._messages[CHAT][1]
    assert parse(f.press(CHAT, "m:ok")).inbound is None  # nothing ticked yet
    toggle = parse(f.press(CHAT, "m:3:0"))
    assert toggle.inbound is None and toggle.press.meaning.action == "toggle"
    # The app shows the edited keyboard; then "done".
    markup = toggled(toggled(toggle.press.markup, 3), 1)
    message["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
    submitted = parse(f.press(CHAT, "m:ok"))
    assert (submitted.inbound.kind, submitted.inbound.text) == ("choice", "1、3")
    # Too old for Telegram to show the keyboard: nothing to read the ticks from.
    assert parse(f.press(CHAT, "m:ok", too_old=True)).inbound is None


def test_unknown_button_data_is_answered_but_records_nothing() -> None:
    f = fake()
    _shown(f, OutMessage("?", CHOICES))
    update = f.press(CHAT, "c:1")
    update["callback_query"]["data"] = "drop table"
    parsed = parse(update)
    assert parsed.inbound is None and parsed.press.meaning.action == "unknown"


@pytest.mark.parametrize(
    ("data", "action", "number"),
    [("c:1", "choose", 1), ("c:12", "choose", 12), ("m:2:0", "toggle", 2), ("m:ok", "submit", None),
     ("c:", "unknown", None), ("c:1234", "unknown", None), ("c:-1", "unknown", None), ("m:1:2", "unknown", None),
     ("", "unknown", None), (None, "unknown", None)],
)  # fmt: skip
def test_button_data(data: str | None, action: str, number: int | None) -> None:
    m = meaning(data)
    assert (m.action, m.number) == (action, number)


def test_keyboards() -> None:
    assert keyboard_for(OutMessage("请直接输入"), "zh") is None
    single = keyboard_for(OutMessage("?", CHOICES), "zh")
    assert [[(b.text, b.callback_data) for b in row] for row in single.inline_keyboard] == [
        [("1. 非常好", "c:1")], [("2. 好", "c:2")], [("3. 一般", "c:3")]
    ]  # fmt: skip
    multi = keyboard_for(OutMessage("?", CHOICES, multiple=True), "en")
    assert multi.inline_keyboard[-1][0].text == "✔ Done"
    assert ticked_numbers(multi) == ()
    ticked = toggled(toggled(multi, 2), 3)
    assert ticked_numbers(ticked) == (2, 3)
    assert ticked.inline_keyboard[1][0].text == "✅ 2. 好"
    assert ticked_numbers(toggled(ticked, 2)) == (3,)
    assert toggled(multi, 9) is None


@pytest.mark.parametrize("bad", ["好\x00的", "\x00", "好\ud800", "\udfff好"], ids=["nul", "only-nul", "high", "low"])
def test_text_or_button_data_that_no_database_or_encoder_takes_is_refused(bad: str) -> None:
    """PostgreSQL refuses U+0000 in text and a lone surrogate cannot be encoded as UTF-8:
    refused here, never a 500 (or a retried poison update) at the database."""
    f = fake()
    with pytest.raises(BadUpdate) as caught:
        parse(f.user_says(CHAT, bad))
    assert bad not in str(caught.value)
    with pytest.raises(BadUpdate):
        parse(f.user_says(CHAT, "/start " + bad))
    shown = {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"}}
    press = {
        "update_id": 99,
        "callback_query": {
            "id": "q1", "from": {"id": CHAT, "is_bot": False, "first_name": "x"},
            "chat_instance": "ci", "message": shown, "data": "c:1" + bad,
        },
    }  # fmt: skip
    with pytest.raises(BadUpdate):
        parse(press)


def test_text_past_the_channel_limit_is_kept_cut_to_it() -> None:
    from bot.channels.base import MAX_TEXT_CHARS

    assert parse(fake().user_says(CHAT, "长" * (MAX_TEXT_CHARS + 1000))).inbound.text == "长" * MAX_TEXT_CHARS
