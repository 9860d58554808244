"""The shared fixtures in tests/conftest.py keep their promises."""

from __future__ import annotations

import redis.asyncio as aioredis
from sqlalchemy import func, select

from storage import migrate
from storage.db import Database
from storage.models import Base


async def test_each_test_gets_an_empty_database_at_head(db: Database, db_url: str) -> None:
    assert await migrate.current_async(db_url) == migrate.head()
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            assert await s.scalar(select(func.count()).select_from(table)) == 0, table.name
        # Leave something behind: the next test must not see it.
        from storage.repositories import OrganisationRepository

        await OrganisationRepository(s).create(code="left_behind", name="x")


async def test_each_test_gets_an_empty_database_again(db: Database) -> None:
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            assert await s.scalar(select(func.count()).select_from(table)) == 0, table.name


async def test_redis_database_starts_empty(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("huifang:left_behind", "1")
    finally:
        await client.aclose()


async def test_redis_database_starts_empty_again(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
    finally:
        await client.aclose()
