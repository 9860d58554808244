"""A runtime on a real database with the nine default flows published, and a chat driver."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from bot.channels.base import Inbound, Reply
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from storage.db import Database

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
_keys = itertools.count(1)


class Chat:
    """One respondent talking to the runtime; `at` moves only when the test says so."""

    def __init__(self, runtime: Runtime, external_id: str, *, channel: str = "console", account: str = "local"):
        self.runtime = runtime
        self.channel, self.account, self.external_id = channel, account, external_id
        self.at = T0
        self.organisation_id: int | None = None  # the organisation of the account they write to
        self.replies: list[Reply] = []

    def inbound(self, kind: str, text: str | None = None, payload: str | None = None, key: str | None = None) -> Inbound:
        return Inbound(
            channel=self.channel,
            account=self.account,
            external_id=self.external_id,
            kind=kind,  # type: ignore[arg-type]
            delivery_key=key or f"test:{self.external_id}:{next(_keys)}",
            at=self.at,
            text=text,
            start_payload=payload,
            organisation_id=self.organisation_id,
        )

    async def start(self, category: str) -> Reply:
        return await self.send_inbound(self.inbound("start", payload=category))

    async def say(self, text: str, *, key: str | None = None) -> Reply:
        return await self.send_inbound(self.inbound("text", text, key=key))

    async def send_inbound(self, inbound: Inbound) -> Reply:
        reply = await self.runtime.handle(inbound)
        self.replies.append(reply)
        self.at += timedelta(seconds=30)
        return reply


@pytest_asyncio.fixture
async def runtime(db_url: str) -> AsyncIterator[Runtime]:
    db = Database(db_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        yield Runtime(db)
    finally:
        await db.dispose()
