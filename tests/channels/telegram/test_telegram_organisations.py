"""A Telegram bot serves one organisation: people who write to it join that organisation."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.app import create_app
from bot.channels.telegram.config import TelegramBot
from bot.services.organisations import OrganisationError, add_organisation
from storage.db import Database
from storage.repositories.respondents import RespondentRepository
from tests.channels.telegram.conftest import BOT, SECRET, TOKEN, TelegramApp, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi

CHAT = 4242


async def test_people_writing_to_a_districts_bot_join_that_district(
    db: Database, db_url: str, fake_telegram: FakeTelegramApi
) -> None:
    async with db.transaction() as s:
        now = datetime.now(UTC)
        await add_organisation(s, code="chengdu", name="成都市红十字会", now=now)
        district = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=now)
    bots = [TelegramBot(name=BOT, token=TOKEN, webhook_secret=SECRET, organisation="jinjiang")]
    app = create_app(telegram_settings(db_url, fake_telegram, telegram_bots=bots))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://huifang.test") as client:
            t = TelegramApp(app, client, fake_telegram)
            response = await t.post(fake_telegram.user_says(CHAT, "志愿者"))
            assert response.status_code == 200
    async with db.transaction() as s:
        person = await RespondentRepository(s).by_identity("telegram", BOT, str(CHAT))
    assert person is not None and person.organisation_id == district.id


async def test_a_bot_naming_an_unknown_organisation_stops_the_start(
    db_url: str, fake_telegram: FakeTelegramApi
) -> None:
    bots = [TelegramBot(name=BOT, token=TOKEN, webhook_secret=SECRET, organisation="nowhere")]
    app = create_app(telegram_settings(db_url, fake_telegram, telegram_bots=bots))
    with pytest.raises(OrganisationError, match="unknown organisation: nowhere"):
        async with app.router.lifespan_context(app):
            pass
