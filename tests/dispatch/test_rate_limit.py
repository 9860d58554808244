"""Per-account rate limits, shared by processes through real Redis.

No wall-clock budgets: the in-memory bucket runs on an injected clock, and every limiter
gets a `sleep` that records the wait instead of taking it, so the waits the limiter computes
are asserted exactly. Redis reserves slots on its own TIME, which a test cannot stop; there
the rate is one call an hour, so the few milliseconds (or, under load, seconds) between
reservations are far inside the tolerance while a wrong spacing is off by an hour.
The in-memory arithmetic is float seconds, so its "no wait" may be 1e-13: compared with approx.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.dispatch.rate_limit import RateLimiter

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOUR = 3600.0
SLOW = 1 / HOUR  # one call an hour: Redis's clock moves by nothing that matters meanwhile
SLACK = 60.0  # how far Redis's clock may move during one test, even on a loaded machine


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records each wait; with a clock, also moves it on as a real sleep would."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.waits: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._clock is not None:
            self._clock.now += seconds


async def test_two_processes_share_one_bucket(redis_factory, key_prefix) -> None:
    sleeps = Sleeps()
    first, second = (
        RateLimiter(SLOW, burst=1, redis=redis_factory(), key_prefix=key_prefix, sleep=sleeps)
        for _ in range(2)
    )

    waits = await asyncio.gather(*(limiter.acquire("wechat:main") for limiter in [first, second] * 5))

    # Ten calls with a burst of one: one slot each, an interval apart, whoever makes them.
    # Two separate buckets would give each limiter its own free first call and 0…4 h.
    assert sorted(waits) == pytest.approx([i * HOUR for i in range(10)], abs=SLACK)
    assert sorted(sleeps.waits) == pytest.approx([i * HOUR for i in range(1, 10)], abs=SLACK)


async def test_accounts_have_separate_buckets(redis_factory, key_prefix) -> None:
    sleeps = Sleeps()
    limiter = RateLimiter(SLOW, burst=1, redis=redis_factory(), key_prefix=key_prefix, sleep=sleeps)

    firsts = await asyncio.gather(*(limiter.acquire(f"wechat:{name}") for name in ("a", "b", "c")))
    again = await limiter.acquire("wechat:a")

    assert firsts == [0, 0, 0] and sleeps.waits == [again]  # no account waits for another's
    assert again == pytest.approx(HOUR, abs=SLACK)  # while each keeps its own rate


async def test_a_burst_goes_at_once_then_the_rate_holds(redis_factory, key_prefix) -> None:
    limiter = RateLimiter(SLOW, burst=5, redis=redis_factory(), key_prefix=key_prefix, sleep=Sleeps())
    assert await asyncio.gather(*(limiter.acquire("k") for _ in range(5))) == [0] * 5
    waits = await asyncio.gather(*(limiter.acquire("k") for _ in range(3)))
    assert sorted(waits) == pytest.approx([HOUR, 2 * HOUR, 3 * HOUR], abs=SLACK)


async def test_without_redis_the_process_keeps_its_own_bucket() -> None:
    clock = FakeClock()
    sleeps = Sleeps()
    limiter = RateLimiter(20, burst=1, clock=clock, sleep=sleeps)

    waits = await asyncio.gather(*(limiter.acquire("wechat:main") for _ in range(6)))

    assert waits == pytest.approx([0, 0.05, 0.10, 0.15, 0.20, 0.25])
    assert sleeps.waits == pytest.approx([0.05, 0.10, 0.15, 0.20, 0.25])
    assert await limiter.acquire("wechat:other") == pytest.approx(0)
    clock.now += 0.25  # the last reserved slot has come
    assert await limiter.acquire("wechat:main") == pytest.approx(0.05)
    clock.now += 10  # idle time does not bank more than the burst
    assert [await limiter.acquire("wechat:main") for _ in range(2)] == pytest.approx([0, 0.05])


async def test_without_redis_a_burst_goes_at_once_then_the_rate_holds() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, burst=5, clock=clock, sleep=Sleeps(clock))  # sleeping moves time

    assert [await limiter.acquire("k") for _ in range(5)] == pytest.approx([0] * 5)
    assert clock.now == pytest.approx(1000.0)
    assert [await limiter.acquire("k") for _ in range(3)] == pytest.approx([0.1, 0.1, 0.1])
    assert clock.now == pytest.approx(1000.3)
    clock.now += 0.5  # five intervals idle: the burst is back
    assert [await limiter.acquire("k") for _ in range(6)] == pytest.approx([0] * 5 + [0.1])


async def test_acquire_really_waits_by_default() -> None:
    limiter = RateLimiter(SLOW)  # the real clock and asyncio.sleep
    assert await limiter.acquire("k") == pytest.approx(0)
    second = asyncio.create_task(limiter.acquire("k"))
    for _ in range(5):  # without a sleep the in-memory path finishes on its first step
        await asyncio.sleep(0)
    assert not second.done()
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second


async def test_nonsense_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(5, burst=0)
