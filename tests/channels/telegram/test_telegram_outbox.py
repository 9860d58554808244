"""Replies are kept in the outbox with the turn: sent at once when Telegram takes them, later
by the dispatcher when it does not, once, and in order. The real app, runtime and database;
the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from aiogram.types import Update
from sqlalchemy import select

from bot.channels.telegram.config import make_bot
from bot.channels.telegram.delivery import EAGER_BUDGET
from bot.channels.telegram.handler import TelegramHandler
from bot.channels.telegram.parse import parse_update
from bot.channels.telegram.sending import OUT_OF_TIME, WAITING
from bot.dispatch.dispatcher import DEFAULT_STALE_AFTER, DispatchStats, dispatch_once
from bot.dispatch.sender import BACKOFF
from bot.dispatch.telegram import TelegramSender
from storage.models import OutboxMessage
from storage.repositories.audit import AuditRepository
from storage.repositories.outbox import OutboxRepository
from tests.channels.telegram.conftest import BOT, TOKEN, TelegramApp
from tests.channels.telegram.test_telegram_webhook import CHAT, press, respondent_of, say

GREETING = "您愿意回答几个简短的问题吗"
OVERALL = "您对红十字会的救助项目，总体评价怎么样？"


def now() -> datetime:
    return datetime.now(UTC)


@pytest_asyncio.fixture
async def sender(telegram_app: TelegramApp) -> AsyncIterator[TelegramSender]:
    settings = telegram_app.app.state.settings
    sender = TelegramSender(telegram_app.db, settings.telegram_bots, api_base=settings.telegram_api_base)
    try:
        yield sender
    finally:
        await sender.aclose()


async def dispatch(t: TelegramApp, sender: TelegramSender, at: datetime) -> DispatchStats:
    return await dispatch_once(t.db, {"telegram": sender}, now=at, batch=50)


async def rows_of(t: TelegramApp) -> list[OutboxMessage]:
    async with t.db.transaction() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def sends(t: TelegramApp) -> int:
    return len(t.fake.calls_to("sendMessage"))


async def test_each_reply_is_kept_and_marked_sent_once_telegram_said_ok(telegram_app: TelegramApp) -> None:
    t = telegram_app
    start = t.fake.user_says(CHAT, "/start humanitarian_aid")
    assert (await t.post(start)).status_code == 200
    [overall] = await say(t, "好的")

    greeting_row, overall_row = await rows_of(t)
    assert greeting_row.dedup_key == f"reply:telegram:{BOT}:upd:{start['update_id']}:0"
    assert [(r.kind, r.status, r.via, r.attempts, r.external_id) for r in (greeting_row, overall_row)] == [
        ("reply", "sent", "eager", 1, str(CHAT)),
        ("reply", "sent", "eager", 1, str(CHAT)),
    ]
    assert GREETING in greeting_row.text and overall_row.text == overall
    data = overall_row.template_data
    assert (data["multiple"], data["lang"]) == (False, "zh")
    assert [(c["number"], c["label"]) for c in data["choices"]] == [(1, "非常好"), (2, "好"), (3, "一般"), (4, "不好")]


async def test_a_reply_telegram_failed_to_take_is_sent_later_by_the_dispatcher_exactly_once(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    t.fake.fail_next("sendMessage", 500, "Internal Server Error")
    start = t.fake.user_says(CHAT, "/start humanitarian_aid")
    posted = now()
    assert (await t.post(start)).status_code == 200
    assert t.fake.texts_to(CHAT) == []  # the respondent has seen nothing yet…

    [row] = await rows_of(t)  # …but the reply is kept
    assert (row.status, row.last_errcode, row.attempts) == ("pending", 500, 1)
    assert posted + BACKOFF[0] <= row.next_attempt_at <= now() + BACKOFF[0]

    # Telegram delivers the update again: no second row, no second try.
    assert (await t.post(start)).status_code == 200
    assert len(await rows_of(t)) == 1 and sends(t) == 1

    assert (await dispatch(t, sender, now())).claimed == 0  # not due yet
    stats = await dispatch(t, sender, row.next_attempt_at)
    assert (stats.claimed, stats.sent) == (1, 1)
    [greeting] = t.fake.texts_to(CHAT)
    assert GREETING in greeting
    assert t.fake.keyboard_of(t.fake.messages_to(CHAT)[0])[0] == [("1. 好的", "c:1")]
    [row] = await rows_of(t)
    assert (row.status, row.via, row.attempts) == ("sent", "bot", 2)

    # Nothing sends it again: not another pass, not another redelivery.
    assert (await dispatch(t, sender, now() + timedelta(hours=1))).claimed == 0
    assert (await t.post(start)).status_code == 200
    assert sends(t) == 2 and len(t.fake.texts_to(CHAT)) == 1

    # The conversation carries on from the message the dispatcher sent.
    [overall] = await press(t, "c:1")
    assert overall.startswith(OVERALL)


async def test_the_rest_of_a_reply_waits_behind_a_failed_message_and_follows_it_in_order(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    await say(t, "好的")
    t.fake.fail_next("sendMessage", 502, "Bad Gateway")
    before = len(t.fake.texts_to(CHAT))
    assert (await t.post(t.fake.user_sends(CHAT, "voice"))).status_code == 200
    assert len(t.fake.texts_to(CHAT)) == before

    sorry, again = (await rows_of(t))[-2:]
    assert (sorry.status, sorry.last_errcode) == ("pending", 500)
    assert (again.status, again.last_errcode) == ("pending", WAITING)  # never tried before `sorry`

    stats = await dispatch(t, sender, now() + timedelta(minutes=1))
    assert stats.sent == 2
    assert t.fake.texts_to(CHAT)[before:] == [sorry.text, again.text]
    assert t.fake.keyboard_of(t.fake.messages_to(CHAT)[-1])[0] == [("1. 非常好", "c:1")]
    # The buttons the dispatcher sent answer the question.
    [main_problem] = await press(t, "c:1")
    assert main_problem.startswith("您觉得现在的救助项目，最主要的问题是什么？")


async def test_a_new_message_while_an_earlier_reply_waits_is_answered_after_it(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    t.fake.fail_next("sendMessage", 500, "Internal Server Error")
    await say(t, "/start humanitarian_aid")
    # The respondent saw nothing and writes again; its answer must not overtake the greeting.
    assert await say(t, "好的") == []
    assert sends(t) == 1

    greeting, overall = await rows_of(t)
    assert (greeting.status, overall.status) == ("pending", "pending")
    # The chat is alive: its waiting reply is due now, not at its backoff.
    assert greeting.next_attempt_at <= overall.next_attempt_at <= now()

    stats = await dispatch(t, sender, now())
    assert stats.sent == 2
    first, second = t.fake.texts_to(CHAT)
    assert GREETING in first and second.startswith(OVERALL)
    [improve] = await press(t, "c:4")
    assert improve.startswith("很抱歉让您不满意")


async def test_flood_control_is_waited_out_as_long_as_telegram_asks(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    t.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    posted = now()
    await say(t, "/start humanitarian_aid")
    [row] = await rows_of(t)
    assert (row.status, row.last_errcode) == ("pending", 429)
    assert posted + timedelta(seconds=3) <= row.next_attempt_at <= now() + timedelta(seconds=3)
    assert (await dispatch(t, sender, row.next_attempt_at)).sent == 1
    assert len(t.fake.texts_to(CHAT)) == 1


async def test_a_reply_whose_process_died_before_sending_is_sent_after_stale_after(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    handler = TelegramHandler(lambda: t.app.state.runtime)
    bot = make_bot(TOKEN, t.fake.base_url)
    try:
        update = Update.model_validate(t.fake.user_says(CHAT, "/start humanitarian_aid"))
        await handler.process(BOT, bot, parse_update(BOT, update, now()))
        # …and the process dies here: the turn is committed, the eager send never ran.
    finally:
        await bot.session.close()
    [row] = await rows_of(t)
    assert row.status == "sending"  # claimed by the eager send: no worker takes it…
    assert (await dispatch(t, sender, now())).claimed == 0

    # The respondent writes again; the answer waits for the greeting still on its way.
    assert await say(t, "好的") == []
    stats = await dispatch(t, sender, now())
    assert (stats.claimed, stats.retried, sends(t)) == (1, 1, 0)
    greeting, overall = await rows_of(t)
    assert (greeting.status, overall.status, overall.last_errcode) == ("sending", "pending", WAITING)

    # …until the claim is stale: then both go, in order.
    stats = await dispatch(t, sender, now() + DEFAULT_STALE_AFTER + timedelta(seconds=1))
    assert stats.sent == 2
    first, second = t.fake.texts_to(CHAT)
    assert GREETING in first and second.startswith(OVERALL)


async def test_an_eager_send_that_would_start_too_late_leaves_the_reply_to_the_worker(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    handler = TelegramHandler(lambda: t.app.state.runtime)
    bot = make_bot(TOKEN, t.fake.base_url)
    try:
        update = Update.model_validate(t.fake.user_says(CHAT, "/start humanitarian_aid"))
        delivery = await handler.process(BOT, bot, parse_update(BOT, update, now()))
        # Held up (say, behind a slow reply to the same chat) past its budget: a worker
        # could soon take the claim as stale, so it must not start sending now.
        delivery.clock = lambda: now() + EAGER_BUDGET + timedelta(seconds=1)
        await delivery()
    finally:
        await bot.session.close()
    assert sends(t) == 0
    [row] = await rows_of(t)
    assert (row.status, row.last_errcode) == ("pending", OUT_OF_TIME)
    assert (await dispatch(t, sender, now() + EAGER_BUDGET + timedelta(seconds=1))).sent == 1
    assert len(t.fake.texts_to(CHAT)) == 1


async def test_a_chat_that_blocked_the_bot_marks_the_respondent_unreachable_and_gets_nothing_more(
    telegram_app: TelegramApp, sender: TelegramSender
) -> None:
    t = telegram_app
    await say(t, "/start humanitarian_aid")
    # They write, then block the bot before the answer arrives.
    update = t.fake.user_says(CHAT, "好的")
    t.fake.block(CHAT)
    assert (await t.post(update)).status_code == 200
    assert sends(t) == 2  # the greeting, and the refused attempt

    overall = (await rows_of(t))[-1]
    reason = "telegram: Forbidden: bot was blocked by the user (403)"
    assert (overall.status, overall.last_errcode, overall.last_error) == ("unreachable", 403, reason)
    person = await respondent_of(t)
    assert (person.unreachable_at is not None, person.unreachable_reason) == (True, reason)
    async with t.db.transaction() as s:
        [entry] = await AuditRepository(s).for_subject("respondent", person.id)
        assert (entry.actor, entry.action) == ("telegram", "respondent_unreachable")
        # A message queued for them before anyone knew is not sent either.
        await _queue(s, person.id, "您好，提醒您完成回访。")

    stats = await dispatch(t, sender, now())
    assert (stats.claimed, stats.unreachable) == (1, 1)
    assert sends(t) == 2


async def _queue(s: Any, respondent_id: int, text: str) -> None:
    await OutboxRepository(s).enqueue(
        respondent_id=respondent_id, channel="telegram", account=BOT, external_id=str(CHAT),
        kind="reminder", text=text, now=now(),
    )  # fmt: skip
