"""Long polling against the fake Bot API, through the real runtime and database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from aiogram.utils.backoff import BackoffConfig
from sqlalchemy import func, select

from bot.channels.telegram.polling import POLL_TIMEOUT_S, poll, run_polling
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from storage.db import Database
from storage.models import InboundMessage
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.channels.telegram.conftest import BOT, TOKEN, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi

CHAT = 5_550_002
QUICK = BackoffConfig(min_delay=0.05, max_delay=0.2, factor=2, jitter=0.0)


@pytest_asyncio.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    await prepare(db, migrate=False, publish_defaults=True)
    yield Runtime(db)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        while not condition():
            await asyncio.sleep(0.01)


# Long polls are held for an hour: a poller that stops at all did not wait one out.
LONG_POLL_S = 3600
HANG_GUARD_S = 60  # only against a hang, far below LONG_POLL_S
# run_polling long-polls for POLL_TIMEOUT_S (25 s): ending well before one would have run out
# shows the stop cut it short, with room for a loaded machine.
STOPS_MID_POLL_S = POLL_TIMEOUT_S - 5


class Poller:
    def __init__(self, runtime: Runtime, fake: FakeTelegramApi) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            poll(runtime, TOKEN, fake.base_url, bot_name=BOT, stop=self.stop, poll_timeout=LONG_POLL_S, backoff=QUICK)
        )

    async def stopped(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, HANG_GUARD_S)


async def test_poll_handles_queued_updates_in_order_and_stops_mid_long_poll(
    runtime: Runtime, fake_telegram: FakeTelegramApi
) -> None:
    fake = fake_telegram
    fake.webhook = {"url": "https://old.example/telegram/x"}  # getUpdates is refused until it goes
    fake.queue_update(fake.user_says(CHAT, "/start humanitarian_aid"), fake.user_says(CHAT, "好的"))
    poller = Poller(runtime, fake)
    await until(lambda: len(fake.texts_to(CHAT)) == 2)
    fake.queue_update(fake.press(CHAT, "c:2"))  # arrives while a long poll is waiting
    await until(lambda: len(fake.texts_to(CHAT)) == 3)
    await until(lambda: fake.pending_updates == 0)  # the next getUpdates confirmed them all

    # Stopping does not wait for the hour-long poll to run out.
    await poller.stopped()
    assert poller.task.done() and poller.task.exception() is None

    greeting, overall, main_problem = fake.texts_to(CHAT)
    assert "您愿意回答几个简短的问题吗" in greeting
    assert overall.startswith("您对红十字会的救助项目")
    assert main_problem.startswith("您觉得现在的救助项目，最主要的问题是什么？")
    assert list(fake.answered.values()) == ["已选择：2. 好"]
    assert fake.calls_to("deleteWebhook") and fake.webhook is None
    async with runtime.db.transaction() as s:
        person = await RespondentRepository(s).by_identity("telegram", BOT, str(CHAT))
        [session] = await SessionRepository(s).list_for_respondent(person.id)
        answers = {a.question_id: a.value for a in await AnswerRepository(s).for_session(session.id)}
    assert answers == {"overall": "good"}


async def test_an_update_served_again_after_a_restart_records_and_sends_nothing(
    runtime: Runtime, fake_telegram: FakeTelegramApi
) -> None:
    fake = fake_telegram
    start = fake.user_says(CHAT, "/start humanitarian_aid")
    fake.queue_update(start)
    first = Poller(runtime, fake)
    await until(lambda: len(fake.texts_to(CHAT)) == 1)
    await first.stopped()

    # Telegram serves an update again when the confirming getUpdates never came.
    fake.queue_update(start, fake.user_says(CHAT, "好的"))
    second = Poller(runtime, fake)
    await until(lambda: len(fake.texts_to(CHAT)) == 2)
    await until(lambda: fake.pending_updates == 0)
    await second.stopped()

    assert len(fake.calls_to("sendMessage")) == 2
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # about the API, not the database
async def test_poll_rides_out_api_errors(runtime: Runtime, fake_telegram: FakeTelegramApi) -> None:
    fake = fake_telegram
    fake.fail_next("getUpdates", 502, "Bad Gateway", times=2)
    fake.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.queue_update(fake.user_says(CHAT, "/start humanitarian_aid"))
    poller = Poller(runtime, fake)
    await until(lambda: len(fake.texts_to(CHAT)) == 1)
    await poller.stopped()
    assert len(fake.calls_to("getUpdates")) >= 4


async def test_run_polling_serves_the_configured_bot_until_stopped(
    db_url: str, fake_telegram: FakeTelegramApi
) -> None:
    fake = fake_telegram
    settings = telegram_settings(db_url, fake)
    assert await run_polling(settings, "no_such_bot") == 2

    fake.queue_update(fake.user_says(CHAT, "/start 人道救助"))
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(settings, stop=stop))
    await until(lambda: len(fake.texts_to(CHAT)) == 1)
    stop.set()
    assert await asyncio.wait_for(task, STOPS_MID_POLL_S) == 0
    assert "您之前得到过我们的救助" in fake.texts_to(CHAT)[0]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_poll_refuses_a_wrong_token_loudly(runtime: Runtime, fake_telegram: FakeTelegramApi) -> None:
    from aiogram.exceptions import TelegramUnauthorizedError

    with pytest.raises(TelegramUnauthorizedError):
        await poll(runtime, "999:wrong-token", fake_telegram.base_url)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the embedded default runs the worker in-process
async def test_a_reply_refused_while_polling_is_sent_by_the_pollers_own_worker(
    db_url: str, fake_telegram: FakeTelegramApi
) -> None:
    fake = fake_telegram
    settings = telegram_settings(db_url, fake, in_process_worker=True, worker_poll_s=0.05)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.queue_update(fake.user_says(CHAT, "/start 人道救助"))
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(settings, stop=stop))
    await until(lambda: len(fake.texts_to(CHAT)) == 1)
    stop.set()
    assert await asyncio.wait_for(task, STOPS_MID_POLL_S) == 0
    assert "您之前得到过我们的救助" in fake.texts_to(CHAT)[0]
    assert len(fake.calls_to("sendMessage")) == 2  # refused once, then sent once


async def test_an_update_no_database_can_store_is_skipped_and_logged_without_its_text(
    runtime: Runtime, fake_telegram: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_telegram
    fake.queue_update(fake.user_says(CHAT, "秘密\x00的"), fake.user_says(CHAT, "秘密\ud800"))
    fake.queue_update(fake.user_says(CHAT, "/start humanitarian_aid"))
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram.polling"):
        poller = Poller(runtime, fake)
        await until(lambda: len(fake.texts_to(CHAT)) == 1)
        await until(lambda: fake.pending_updates == 0)
        await poller.stopped()
    assert "您之前得到过我们的救助" in fake.texts_to(CHAT)[0]
    assert caplog.text.count("skipped") == 2 and "秘密" not in caplog.text
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 1
