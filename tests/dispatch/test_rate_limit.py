"""Per-account rate limits, shared by processes through real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.dispatch.rate_limit import RateLimiter

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _timed(*calls) -> float:
    started = time.monotonic()
    await asyncio.gather(*calls)
    return time.monotonic() - started


async def test_two_processes_share_one_bucket(redis_factory, key_prefix) -> None:
    first = RateLimiter(20, burst=1, redis=redis_factory(), key_prefix=key_prefix)
    second = RateLimiter(20, burst=1, redis=redis_factory(), key_prefix=key_prefix)

    elapsed = await _timed(*(limiter.acquire("wechat:main") for limiter in [first, second] * 5))

    # Ten calls at 20/s with a burst of one: the last waits 9 × 50 ms, whoever makes it.
    assert 0.42 <= elapsed < 1.2


async def test_accounts_have_separate_buckets(redis_factory, key_prefix) -> None:
    limiter = RateLimiter(2, burst=1, redis=redis_factory(), key_prefix=key_prefix)
    elapsed = await _timed(*(limiter.acquire(f"wechat:{name}") for name in ("a", "b", "c")))
    assert elapsed < 0.2


async def test_a_burst_goes_at_once_then_the_rate_holds(redis_factory, key_prefix) -> None:
    limiter = RateLimiter(10, burst=5, redis=redis_factory(), key_prefix=key_prefix)
    assert await _timed(*(limiter.acquire("k") for _ in range(5))) < 0.1
    assert await _timed(*(limiter.acquire("k") for _ in range(3))) >= 0.25


async def test_without_redis_the_process_keeps_its_own_bucket() -> None:
    limiter = RateLimiter(20, burst=1)
    elapsed = await _timed(*(limiter.acquire("wechat:main") for _ in range(6)))
    assert 0.22 <= elapsed < 0.8


async def test_nonsense_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(5, burst=0)
