"""The memory of (timestamp, nonce) pairs that keeps a captured plaintext request from
carrying another message: the in-process one and the Redis one behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.channels.wechat.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard

WINDOW_S = 300


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(params=["memory", "redis"])
async def guard(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[ReplayGuard]:
    if request.param == "memory":
        yield MemoryReplayGuard(window_s=WINDOW_S)
        return
    redis = Redis.from_url(redis_url)
    try:
        yield RedisReplayGuard(redis, window_s=WINDOW_S)
    finally:
        await redis.aclose()


async def test_a_new_pair_and_the_same_message_again_are_admitted(guard: ReplayGuard) -> None:
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
    # WeChat's own retry: same timestamp, nonce and message.
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")


async def test_a_used_pair_with_another_message_is_refused(guard: ReplayGuard) -> None:
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
    assert not await guard.admit("main", "1714550400", "n1", "msg:o-1:43")
    assert not await guard.admit("main", "1714550400", "n1", "evt:o-1:1714550400:unsubscribe")
    assert not await guard.admit("main", "1714550400", "n1", "msg:o-2:42")  # another sender
    # The refusal did not overwrite the first message's claim on the pair.
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")


async def test_pairs_are_per_account_and_per_timestamp_and_nonce(guard: ReplayGuard) -> None:
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
    assert await guard.admit("other", "1714550400", "n1", "msg:o-1:43")
    assert await guard.admit("main", "1714550401", "n1", "msg:o-1:44")
    assert await guard.admit("main", "1714550400", "n2", "msg:o-1:45")
    # A separator in the parts cannot make two different pairs collide.
    assert await guard.admit("main", "1:2", "3", "msg:o-1:46")
    assert await guard.admit("main", "1", "2:3", "msg:o-1:47")


async def test_redis_keeps_a_pair_for_twice_the_window_under_the_account(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        guard = RedisReplayGuard(redis, window_s=WINDOW_S, prefix="test:replay")
        assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
        [key] = [k async for k in redis.scan_iter("test:replay:*")]
        assert key.startswith(b"test:replay:main:")
        # Timestamps are accepted up to the window either side of now: a pair stays usable
        # for up to twice the window after it was first seen.
        assert 2 * WINDOW_S - 5 <= await redis.ttl(key) <= 2 * WINDOW_S
        stored = await redis.get(key)
        assert b"o-1" not in key and b"o-1" not in stored  # no openid kept in Redis
    finally:
        await redis.aclose()


async def test_memory_forgets_a_pair_after_twice_the_window() -> None:
    clock = Clock()
    guard = MemoryReplayGuard(window_s=WINDOW_S, clock=clock)
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:42")
    clock.now += 2 * WINDOW_S - 1
    assert not await guard.admit("main", "1714550400", "n1", "msg:o-1:43")
    clock.now += 2
    # By now the timestamp itself is outside the window and refused before the guard.
    assert await guard.admit("main", "1714550400", "n1", "msg:o-1:43")
    assert len(guard) == 1


async def test_memory_is_bounded_dropping_the_oldest_pairs() -> None:
    clock = Clock()
    guard = MemoryReplayGuard(window_s=WINDOW_S, max_entries=3, clock=clock)
    for n in range(5):
        assert await guard.admit("main", "1714550400", f"n{n}", f"msg:o-1:{n}")
        clock.now += 1
    assert len(guard) == 3
    assert await guard.admit("main", "1714550400", "n0", "msg:o-1:other")  # forgotten
    assert not await guard.admit("main", "1714550400", "n4", "msg:o-1:other")  # still known


def test_memory_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        MemoryReplayGuard(window_s=0)
    with pytest.raises(ValueError):
        MemoryReplayGuard(window_s=WINDOW_S, max_entries=0)
