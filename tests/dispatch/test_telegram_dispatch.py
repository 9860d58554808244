"""The dispatcher over Telegram, against the fake Bot API over TCP and both databases: keyboards
from the row, order per chat, what is retried, and who is never written to again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio

from bot.channels.telegram.config import TelegramBot
from bot.channels.telegram.sending import NO_ANSWER, NO_SUCH_BOT, WAITING
from bot.container import open_container
from bot.dispatch.dispatcher import DispatchStats, dispatch_once
from bot.dispatch.telegram import TelegramSender
from bot.dispatch.worker import run_worker
from bot.services.outbound import queue_message
from bot.settings import Settings
from storage.db import Database
from storage.models import OutboxMessage, Respondent
from storage.repositories.audit import AuditRepository
from storage.repositories.respondents import RespondentRepository
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramApi

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BOT = "huifang_test_bot"
CHAT, OTHER_CHAT = 7_000_001, 7_000_002
CHOICES = {
    "choices": [{"code": "yes", "number": 1, "label": "愿意"}, {"code": "no", "number": 2, "label": "不愿意"}],
    "multiple": False,
    "lang": "zh",
}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(tokens=[DEFAULT_TOKEN], username=BOT) as api:
        yield api


def bots() -> list[TelegramBot]:
    return [TelegramBot(name=BOT, token=DEFAULT_TOKEN)]


@pytest_asyncio.fixture
async def sender(db: Database, fake: FakeTelegramApi) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender(db, bots(), api_base=fake.base_url, timeout_s=60)  # a hang guard
    try:
        yield sender
    finally:
        await sender.aclose()


async def person(db: Database, chat: int, *, lang: str = "zh") -> int:
    async with db.transaction() as s:
        people = RespondentRepository(s)
        respondent = await people.create(category="elderly", lang=lang, at=T0 - timedelta(days=1))
        await people.add_identity(respondent, channel="telegram", account=BOT, external_id=str(chat), at=T0)
        return respondent.id


async def queue(
    db: Database, respondent_id: int | None, chat: int, text: str, *, account: str = BOT, data: Any = None
) -> int:
    async with db.transaction() as s:
        respondent = await s.get(Respondent, respondent_id) if respondent_id else None
        row_id = await queue_message(
            s, respondent=respondent, channel="telegram", account=account, external_id=str(chat),
            kind="reminder", text=text, now=T0, template_data=data,
        )  # fmt: skip
        assert row_id is not None
        return row_id


async def row(db: Database, row_id: int) -> OutboxMessage:
    async with db.transaction() as s:
        found = await s.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def dispatch(db: Database, sender: TelegramSender, at: datetime = T0, **options: Any) -> DispatchStats:
    return await dispatch_once(db, {"telegram": sender}, now=at, batch=50, **options)


async def test_rows_are_sent_with_their_keyboards_and_marked_sent(
    db: Database, fake: FakeTelegramApi, sender: TelegramSender
) -> None:
    someone = await person(db, CHAT)
    plain = await queue(db, someone, CHAT, "您好，想再问您两个问题。")
    choice = await queue(db, someone, CHAT, "您愿意吗？", data=CHOICES)
    checklist = await queue(db, someone, CHAT, "哪些？", data={**CHOICES, "multiple": True, "lang": "en"})
    nobody_yet = await queue(db, None, OTHER_CHAT, "请问您属于哪一类？", data=CHOICES)  # no respondent yet

    stats = await dispatch(db, sender)

    assert (stats.claimed, stats.sent) == (4, 4)
    first, second, third = fake.messages_to(CHAT)
    assert (first["text"], "reply_markup" in first) == ("您好，想再问您两个问题。", False)
    assert fake.keyboard_of(second) == [[("1. 愿意", "c:1")], [("2. 不愿意", "c:2")]]
    assert fake.keyboard_of(third) == [[("⬜ 1. 愿意", "m:1:0")], [("⬜ 2. 不愿意", "m:2:0")], [("✔ Done", "m:ok")]]
    assert fake.texts_to(OTHER_CHAT) == ["请问您属于哪一类？"]
    for row_id in (plain, choice, checklist, nobody_yet):
        sent = await row(db, row_id)
        assert (sent.status, sent.via, sent.sent_at, sent.attempts) == ("sent", "bot", T0, 1)


async def test_a_chats_rows_wait_behind_a_failed_one_and_then_go_in_order(
    db: Database, fake: FakeTelegramApi, sender: TelegramSender
) -> None:
    someone, other = await person(db, CHAT), await person(db, OTHER_CHAT)
    ids = [await queue(db, someone, CHAT, f"第{i}条") for i in (1, 2, 3)]
    elsewhere = await queue(db, other, OTHER_CHAT, "别的聊天")
    fake.fail_next("sendMessage", 500, "Internal Server Error")

    stats = await dispatch(db, sender, concurrency=1)  # one chat after the other: the 500 hits 第1条

    assert (stats.claimed, stats.sent, stats.retried) == (4, 1, 3)
    assert fake.texts_to(CHAT) == [] and fake.texts_to(OTHER_CHAT) == ["别的聊天"]
    first, second, third = [await row(db, i) for i in ids]
    assert (first.status, first.last_errcode) == ("pending", 500)
    # Never tried: sending them now would put them before 第1条.
    assert [(r.status, r.last_errcode) for r in (second, third)] == [("pending", WAITING)] * 2
    assert len(fake.calls_to("sendMessage")) == 2
    assert (await row(db, elsewhere)).status == "sent"

    stats = await dispatch(db, sender, T0 + timedelta(minutes=1))
    assert stats.sent == 3
    assert fake.texts_to(CHAT) == ["第1条", "第2条", "第3条"]


async def test_a_chat_that_blocked_the_bot_is_never_written_to_again(
    db: Database, fake: FakeTelegramApi, sender: TelegramSender
) -> None:
    someone = await person(db, CHAT)
    first = await queue(db, someone, CHAT, "提醒一")
    second = await queue(db, someone, CHAT, "提醒二")
    fake.block(CHAT)

    stats = await dispatch(db, sender)

    assert (stats.claimed, stats.unreachable) == (2, 2)
    assert len(fake.calls_to("sendMessage")) == 1  # the second was not even tried
    reason = "telegram: Forbidden: bot was blocked by the user (403)"
    refused = await row(db, first)
    assert (refused.status, refused.last_errcode, refused.last_error) == ("unreachable", 403, reason)
    assert (await row(db, second)).status == "unreachable"
    async with db.transaction() as s:
        respondent = await RespondentRepository(s).get(someone)
        assert respondent is not None and respondent.unreachable_reason == reason
        [entry] = await AuditRepository(s).for_subject("respondent", someone)
        assert (entry.actor, entry.action) == ("dispatcher", "respondent_unreachable")
        # Nothing new is even queued for them.
        assert await queue_message(
            s, respondent=respondent, channel="telegram", account=BOT, external_id=str(CHAT),
            kind="reminder", text="提醒三", now=T0,
        ) is None  # fmt: skip
    assert (await dispatch(db, sender, T0 + timedelta(hours=1))).claimed == 0
    assert len(fake.calls_to("sendMessage")) == 1


async def test_a_message_telegram_refuses_fails_alone(
    db: Database, fake: FakeTelegramApi, sender: TelegramSender
) -> None:
    someone = await person(db, CHAT)
    refused = await queue(db, someone, CHAT, "第一条")
    after = await queue(db, someone, CHAT, "第二条")
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")

    stats = await dispatch(db, sender)

    assert (stats.failed, stats.sent) == (1, 1)
    failed = await row(db, refused)
    assert (failed.status, failed.last_errcode, failed.last_error) == (
        "failed", 400, "refused: Bad Request: chat not found"
    )
    assert fake.texts_to(CHAT) == ["第二条"]  # a failed message holds nothing back
    async with db.transaction() as s:
        assert (await RespondentRepository(s).get(someone)).unreachable_at is None
    assert (await row(db, after)).status == "sent"


async def test_no_answer_flood_control_and_operator_problems_are_retried(
    db: Database, fake: FakeTelegramApi, sender: TelegramSender
) -> None:
    lost = await queue(db, await person(db, CHAT), CHAT, "丢了的")
    flooded = await queue(db, await person(db, OTHER_CHAT), OTHER_CHAT, "太快的")
    unknown_bot = await queue(db, None, 7_000_003, "别的机器人", account="retired_bot")
    fake.stall_next("sendMessage", 3600)  # no answer before the impatient sender gives up
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)

    impatient = TelegramSender(db, bots(), api_base=fake.base_url, timeout_s=2)
    try:
        stats = await dispatch(db, impatient, concurrency=1, max_attempts=2)
    finally:
        await impatient.aclose()

    assert (stats.claimed, stats.retried, stats.sent) == (3, 3, 0)
    assert [(r.status, r.last_errcode) for r in [await row(db, i) for i in (lost, flooded, unknown_bot)]] == [
        ("pending", NO_ANSWER), ("pending", 429), ("pending", NO_SUCH_BOT)
    ]  # fmt: skip

    stats = await dispatch(db, sender, T0 + timedelta(minutes=1), max_attempts=2)
    assert (stats.sent, stats.failed) == (2, 1)  # the bot is still unknown: out of attempts
    assert fake.texts_to(CHAT) == ["丢了的"] and fake.texts_to(OTHER_CHAT) == ["太快的"]
    gave_up = await row(db, unknown_bot)
    assert gave_up.status == "failed" and "retired_bot" in (gave_up.last_error or "")


async def test_the_worker_sends_telegram_rows_when_bots_are_configured(
    db: Database, db_url: str, fake: FakeTelegramApi
) -> None:
    settings = Settings(
        database_url=db_url,
        telegram_bots=bots(),
        telegram_api_base=fake.base_url,
        worker_poll_s=0.05,
        auto_migrate=False,
    )
    async with open_container(Settings(database_url=db_url, auto_migrate=False), prepare_database=False) as c:
        assert "telegram" not in c.senders()
    row_id = await queue(db, await person(db, CHAT), CHAT, "您好，这是一条回访消息。")
    async with open_container(settings, prepare_database=False) as container:
        senders = container.senders()
        assert isinstance(senders["telegram"], TelegramSender)  # WeChat waits for Redis
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(container, stop=stop))
        try:
            async with asyncio.timeout(60):
                while (await row(db, row_id)).status != "sent":
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(worker, 60)  # only against a hang
    assert fake.texts_to(CHAT) == ["您好，这是一条回访消息。"]
