from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storage.db import Database
from storage.models import InboundMessage
from storage.repositories import InboundRepository

MakeRespondent = Callable[..., Awaitable[int]]


def _delivery(key: str, t0: datetime, text: str = "1") -> dict[str, Any]:
    return dict(
        delivery_key=key,
        channel="wechat",
        account="gh_redcross",
        external_id="oABC",
        kind="text",
        text=text,
        at=t0,
    )


async def test_same_key_twice_is_claimed_once(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        first = await InboundRepository(s).claim(**_delivery("wechat:msg:1001", t0, text="满意"))
    async with db.transaction() as s:
        repo = InboundRepository(s)
        second = await repo.claim(
            **_delivery("wechat:msg:1001", t0 + timedelta(seconds=5), text="changed")
        )
        stored = await repo.get_by_key("wechat:msg:1001")
    assert isinstance(first, int) and second is None
    assert stored is not None and (stored.id, stored.text, stored.received_at) == (
        first,
        "满意",
        t0,
    )


async def test_redelivery_finds_the_first_reply(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    respondent_id = await make_respondent()
    reply = {"text": "谢谢您的回答！", "kind": "question"}
    async with db.transaction() as s:
        repo = InboundRepository(s)
        message_id = await repo.claim(**_delivery("wechat:msg:7", t0))
        assert message_id is not None
        await repo.set_reply(
            message_id, reply, respondent_id=respondent_id, at=t0 + timedelta(seconds=1)
        )
    async with db.transaction() as s:
        repo = InboundRepository(s)
        assert await repo.claim(**_delivery("wechat:msg:7", t0)) is None
        stored = await repo.get_by_key("wechat:msg:7")
    assert stored is not None
    assert (stored.reply, stored.respondent_id, stored.processed_at) == (
        reply,
        respondent_id,
        t0 + timedelta(seconds=1),
    )


async def test_a_rolled_back_claim_leaves_the_key_free(db: Database, t0: datetime) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            assert await InboundRepository(s).claim(**_delivery("tg:update:5", t0)) is not None
            raise RuntimeError("handler crashed before commit")
    async with db.transaction() as s:
        assert await InboundRepository(s).claim(**_delivery("tg:update:5", t0)) is not None


async def test_bad_keys_and_replies_are_refused(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        repo = InboundRepository(s)
        with pytest.raises(ValueError, match="at most 200"):
            await repo.claim(**_delivery("k" * 201, t0))
        with pytest.raises(ValueError, match="required"):
            await repo.claim(**_delivery("", t0))
        with pytest.raises(LookupError, match="no inbound message with id 999"):
            await repo.set_reply(999, {"text": "x"}, respondent_id=None, at=t0)
        message_id = await repo.claim(**_delivery("k" * 200, t0))
        assert message_id is not None
        with pytest.raises(TypeError, match="reply must be a dict"):
            await repo.set_reply(message_id, "x", respondent_id=None, at=t0)  # type: ignore[arg-type]
        assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 1


async def test_claim_racing_an_open_transaction_loses_once_it_commits(
    db: Database, t0: datetime
) -> None:
    """The second claim of a key waits for the first transaction; once that commits it is a
    duplicate. (PostgreSQL: the unique index waits; SQLite: the writer lock does.)"""
    claimed = asyncio.Event()
    trying = asyncio.Event()

    async def second_is_held_up() -> None:
        # SQLite: `trying` is set just before transaction(), which queues on the writer lock
        # without yielding first, so it is already waiting. PostgreSQL: its INSERT waits on
        # the unique index, seen as a Lock wait in pg_stat_activity.
        if db.engine.dialect.name != "postgresql":
            return
        async with asyncio.timeout(60):  # only against a hang; ends as soon as it waits
            while True:
                async with db.transaction() as s:
                    if await s.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )):  # fmt: skip
                        return
                await asyncio.sleep(0.01)

    async def first() -> int | None:
        async with db.transaction() as s:
            result = await InboundRepository(s).claim(**_delivery("wechat:msg:race", t0))
            claimed.set()
            await trying.wait()
            await second_is_held_up()  # still uncommitted while the second one tries
            return result

    async def second() -> int | None:
        await claimed.wait()
        trying.set()
        async with db.transaction() as s:
            return await InboundRepository(s).claim(**_delivery("wechat:msg:race", t0))

    results = await asyncio.gather(first(), second())
    assert results[0] is not None and results[1] is None


async def test_many_concurrent_claims_of_one_key_have_one_winner(
    db: Database, t0: datetime
) -> None:
    async def claim() -> int | None:
        async with db.transaction() as s:
            return await InboundRepository(s).claim(**_delivery("wechat:msg:storm", t0))

    results = await asyncio.gather(*(claim() for _ in range(10)))
    assert len([r for r in results if r is not None]) == 1
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 1


async def test_the_platforms_own_time_is_kept_apart_from_ours(db: Database, t0: datetime) -> None:
    from datetime import UTC

    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    async with db.transaction() as s:
        repo = InboundRepository(s)
        await repo.claim(**_delivery("wechat:msg:2001", t0), platform_at=far)
        await repo.claim(**_delivery("wechat:msg:2002", t0))
    async with db.transaction() as s:
        repo = InboundRepository(s)
        dated, undated = await repo.get_by_key("wechat:msg:2001"), await repo.get_by_key("wechat:msg:2002")
    assert dated is not None and (dated.received_at, dated.platform_at) == (t0, far)
    assert undated is not None and undated.platform_at is None
