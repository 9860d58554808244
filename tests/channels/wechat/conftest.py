"""Fixtures for the WeChat channel: the fake WeChat API, and clients of the real Redis that
tests/conftest.py's `redis_url` empties for each test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tests.channels.wechat.wechat_messages import APP_ID, APP_SECRET
from tests.fakes.wechat_api import FakeWeChatApi

# One fake server per test module (uvicorn takes ~0.2 s to stop), reset before each test;
# the async fixtures and the tests that use them share the module's event loop.
LOOP = "module"


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


@pytest.fixture
def redis_prefix() -> str:
    return f"test:wechat:{uuid.uuid4().hex}"


@pytest_asyncio.fixture(loop_scope=LOOP)
async def redis_client_factory(redis_url: str) -> AsyncIterator[Callable[[], Awaitable[Redis]]]:
    """New connections to real Redis, one per simulated process."""
    clients: list[Redis] = []

    async def connect() -> Redis:
        client = Redis.from_url(redis_url)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.aclose()
