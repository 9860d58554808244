"""Fixtures for the outbox dispatcher: the fake WeChat API over TCP, a real database per test
(SQLite and PostgreSQL), real Redis, and a small `World` to set up accounts, respondents,
their inbound messages and queued rows with a fixed clock."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.channels.wechat.api import RedisTokenStore
from bot.dispatch.dispatcher import DispatchStats, dispatch_once
from bot.dispatch.rate_limit import RateLimiter
from bot.dispatch.sender import Sender
from bot.dispatch.wechat import WeChatSender
from bot.services.account_directory import AccountDirectory
from bot.services.outbound import queue_message
from storage.db import Database
from storage.models import OutboxMessage, Respondent
from storage.repositories.inbound import InboundRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.wechat_accounts import WeChatAccountRepository
from storage.secrets import SecretBox
from tests.fakes.wechat_api import FakeWeChatApi

LOOP = "module"  # the fake server's loop: async fixtures and tests share it
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ACCOUNT = "main"
APP_ID = "wx-dispatch-test"
APP_SECRET = "dispatch-secret"
TEMPLATE_ID = "tpl-follow-up-1"

STABLE_TOKEN = "/cgi-bin/stable_token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def fake_wechat_server() -> AsyncIterator[FakeWeChatApi]:
    async with FakeWeChatApi(apps={APP_ID: APP_SECRET}) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope=LOOP)
async def fake_wechat(fake_wechat_server: FakeWeChatApi) -> AsyncIterator[FakeWeChatApi]:
    fake_wechat_server.reset()
    yield fake_wechat_server


@pytest_asyncio.fixture(loop_scope=LOOP)
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest_asyncio.fixture(loop_scope=LOOP)
async def redis_factory(redis_url: str) -> AsyncIterator[Callable[[], Redis]]:
    """New connections to real Redis, one per simulated process."""
    clients: list[Redis] = []

    def connect() -> Redis:
        client = Redis.from_url(redis_url)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def key_prefix() -> str:
    return f"test:dispatch:{uuid.uuid4().hex}"


SenderFactory = Callable[..., WeChatSender]


@pytest.fixture
def make_sender(
    fake_wechat: FakeWeChatApi,
    http: httpx.AsyncClient,
    redis_factory: Callable[[], Redis],
    key_prefix: str,
) -> SenderFactory:
    """A WeChatSender on `db` with its own Redis connection, as one worker process has.
    Its API timeout only guards against a hang unless a test passes a short one."""

    def make(db: Database, *, timeout_s: float = 60.0, rate_per_s: float = 1000) -> WeChatSender:
        redis = redis_factory()
        limiter = RateLimiter(
            rate_per_s, burst=max(1, int(rate_per_s)), redis=redis, key_prefix=f"{key_prefix}:rate"
        )
        return WeChatSender(
            db,
            accounts=AccountDirectory(db, box=SecretBox()),
            http=http,
            tokens=RedisTokenStore(redis),
            limiter=limiter,
            base_url=fake_wechat.base_url,
            timeout_s=timeout_s,
            key_prefix=key_prefix,
        )

    return make


@dataclass
class World:
    """Builds the database state a dispatch pass reads, each step in its own transaction."""

    db: Database
    _serial: Any = field(default_factory=lambda: itertools.count(1))

    async def account(self, *, template_id: str | None = None, name: str = ACCOUNT) -> None:
        async with self.db.transaction() as s:
            await WeChatAccountRepository(s).create(
                name=name,
                app_id=APP_ID,
                token="webhook-token",
                app_secret=APP_SECRET,
                template_id=template_id,
                now=T0 - timedelta(days=30),
            )

    async def respondent(self, openid: str, *, lang: str = "zh", account: str = ACCOUNT) -> int:
        async with self.db.transaction() as s:
            people = RespondentRepository(s)
            person = await people.create(category="elderly", lang=lang, at=T0 - timedelta(days=10))
            await people.add_identity(
                person, channel="wechat", account=account, external_id=openid, at=T0
            )
            return person.id

    async def inbound(
        self, openid: str, at: datetime, *, kind: str = "text", account: str = ACCOUNT
    ) -> None:
        async with self.db.transaction() as s:
            await InboundRepository(s).claim(
                delivery_key=f"msg-{next(self._serial)}",
                channel="wechat",
                account=account,
                external_id=openid,
                kind=kind,
                text="好的",
                at=at,
            )

    async def queue(
        self,
        respondent_id: int | None,
        openid: str,
        text: str = "您好，红十字会想了解您收到救助后的情况。",
        *,
        kind: str = "invitation",
        at: datetime = T0,
        dedup_key: str | None = None,
        template_data: dict[str, Any] | None = None,
        channel: str = "wechat",
    ) -> int | None:
        async with self.db.transaction() as s:
            respondent = await s.get(Respondent, respondent_id) if respondent_id else None
            return await queue_message(
                s,
                respondent=respondent,
                channel=channel,
                account=ACCOUNT,
                external_id=openid,
                kind=kind,
                text=text,
                now=at,
                dedup_key=dedup_key,
                template_data=template_data,
            )

    async def row(self, message_id: int) -> OutboxMessage:
        async with self.db.transaction() as s:
            row = await s.get(OutboxMessage, message_id)
            assert row is not None
            return row

    async def person(self, respondent_id: int) -> Respondent:
        async with self.db.transaction() as s:
            person = await s.get(Respondent, respondent_id)
            assert person is not None
            return person

    async def opt_out(self, respondent_id: int, at: datetime = T0) -> None:
        async with self.db.transaction() as s:
            people = RespondentRepository(s)
            await people.opt_out(await people.get(respondent_id), at=at)

    async def unsubscribe(self, respondent_id: int, at: datetime = T0) -> None:
        async with self.db.transaction() as s:
            people = RespondentRepository(s)
            await people.mark_unreachable(
                await people.get(respondent_id), at=at, reason="wechat: unsubscribed"
            )


@pytest_asyncio.fixture(loop_scope=LOOP)
async def world(database: Database) -> World:
    return World(database)


Dispatch = Callable[..., Awaitable[DispatchStats]]


@pytest.fixture
def dispatch(database: Database) -> Dispatch:
    """One pass with `senders` at time `now`."""

    async def run(senders: dict[str, Sender], now: datetime = T0, **options: Any) -> DispatchStats:
        options.setdefault("batch", 50)
        return await dispatch_once(database, senders, now=now, **options)

    return run
