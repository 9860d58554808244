"""Organisations and staff accounts on a real database, and the web app on it.

The tree: 成都 chengdu (city) → 锦江 jinjiang, 武侯 wuhou (districts); 锦江 → 春熙路 chunxi
(grassroots). One account per role, each with PASSWORD.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from fastapi import FastAPI

import bot.services.staff as staff_service
from bot.app import create_app
from bot.services.organisations import add_organisation
from bot.services.staff import create_user
from bot.settings import Settings
from storage.db import Database

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PASSWORD = "红十字 回访 2026!"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the smallest cost: the production cost (64 MiB, ~0.1–0.5 s a hash on
    these shared machines) would make these tests slow without testing anything more."""
    monkeypatch.setattr(staff_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


async def make_tree(db: Database) -> None:
    async with db.transaction() as s:
        await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="chunxi", name="春熙路街道红十字服务站", parent="jinjiang", now=T0)


async def make_staff(db: Database) -> None:
    async with db.transaction() as s:
        await create_user(s, username="admin", org_code="chengdu", role="admin", name="王管理", password=PASSWORD, now=T0)
        await create_user(s, username="zhangsan", org_code="jinjiang", role="staff", name="张三", password=PASSWORD, now=T0)
        await create_user(s, username="lisi", org_code="chunxi", role="viewer", name="李四", password=PASSWORD, now=T0)


@pytest_asyncio.fixture
async def staffed(db: Database) -> Database:
    await make_tree(db)
    await make_staff(db)
    return db


def settings_for(db_url: str, **overrides: object) -> Settings:
    return Settings(database_url=db_url, auto_migrate=False, publish_default_flows=False, **overrides)


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(db_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
