"""Fixtures for the Telegram channel: the fake Bot API, and the whole app on a real database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

# Until pytest's `pythonpath = ["."]` is set in pyproject.toml, make `tests.…` importable.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.app import create_app  # noqa: E402
from bot.channels.telegram.config import DEFAULT_API_BASE, TelegramBot  # noqa: E402
from bot.channels.telegram.webhook import SECRET_HEADER, telegram_router  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramApi  # noqa: E402

BOT = "huifang_test_bot"
TOKEN = DEFAULT_TOKEN
SECRET = "s3cret-webhook_token-for-tests-0123456789"
WEBHOOK = f"/telegram/{BOT}"


class TelegramTestSettings(Settings):
    # Declared here until bot/settings.py has them; re-declaring them then is harmless.
    telegram_bots: list[TelegramBot] = []  # noqa: RUF012 — a pydantic field, copied per instance
    telegram_api_base: str = DEFAULT_API_BASE


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(tokens=[TOKEN], username=BOT) as fake:
        yield fake


def telegram_settings(db_url: str, fake: FakeTelegramApi, **overrides: Any) -> TelegramTestSettings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "telegram_bots": [TelegramBot(name=BOT, token=TOKEN, webhook_secret=SECRET)],
        "telegram_api_base": fake.base_url,
        # Tests run the outbox dispatcher themselves, at the moment they choose: a worker
        # in the background would race them for the rows an eager send left behind.
        "in_process_worker": False,
    }
    return TelegramTestSettings(**(values | overrides))


@dataclass
class TelegramApp:
    app: FastAPI
    client: httpx.AsyncClient
    fake: FakeTelegramApi

    @property
    def db(self) -> Database:
        return self.app.state.db

    async def post(self, update: Any, *, secret: str | bytes | None = SECRET, **kwargs: Any) -> httpx.Response:
        """POST an update to the webhook the way Telegram does (twice, if asked)."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(update, (bytes, str)):
            return await self.client.post(WEBHOOK, content=update, headers=headers, **kwargs)
        return await self.client.post(WEBHOOK, json=update, headers=headers, **kwargs)


@pytest_asyncio.fixture
async def telegram_app(db_url: str, fake_telegram: FakeTelegramApi) -> AsyncIterator[TelegramApp]:
    settings = telegram_settings(db_url, fake_telegram)
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/telegram/{bot_name}" for route in app.routes):
        # bot/app.py does not include the Telegram router yet: add it as it will.
        app.include_router(telegram_router(lambda: app.state.runtime, settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://huifang.test") as client:
            yield TelegramApp(app, client, fake_telegram)
