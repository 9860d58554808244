"""Per-key rate limits (one key per channel account), shared by all processes through Redis.

The algorithm is GCRA, a token bucket kept as one timestamp (the "theoretical arrival time"):
each call reserves the next slot and learns how long to wait for it, so callers never poll
and a burst of `burst` calls goes through at once. With Redis the reservation is one Lua
call on Redis's own clock, so processes on machines with skewed clocks still agree. Without
Redis (embedded mode, one process) the same arithmetic runs in memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] = bucket; ARGV[1] = microseconds per call, ARGV[2] = burst. Returns microseconds
# to wait before the reserved slot.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return wait
"""


class RateLimiter:
    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: int = 1,
        redis: Redis | None = None,
        key_prefix: str = "huifang:rate",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._interval_us = max(1, round(1_000_000 / rate_per_s))
        self._redis = redis
        self._prefix = key_prefix
        self._clock = clock  # seconds, for the in-memory bucket (Redis uses its own TIME)
        self._sleep = sleep
        self._local: dict[str, float] = {}  # key -> theoretical arrival time (monotonic s)
        self._warned = False

    async def acquire(self, key: str) -> float:
        """Wait for this key's next slot; the seconds waited."""
        wait = await self._reserve(key)
        if wait > 0:
            await self._sleep(wait)
        return wait

    async def _reserve(self, key: str) -> float:
        if self._redis is not None:
            try:
                wait_us = await self._redis.eval(
                    _RESERVE, 1, f"{self._prefix}:{key}", self._interval_us, self.burst
                )
                return int(wait_us) / 1_000_000
            except RedisError as exc:
                # Sending slower than allowed is not possible without the shared bucket;
                # falling back to this process's own bucket keeps messages moving and is
                # exact again when only one process is sending.
                if not self._warned:
                    log.warning("rate limiter: Redis unavailable (%s); limiting per process", exc)
                    self._warned = True
        return self._reserve_locally(key)

    def _reserve_locally(self, key: str) -> float:
        interval = self._interval_us / 1_000_000
        now = self._clock()
        tat = max(self._local.get(key, now), now) + interval
        self._local[key] = tat
        return max(0.0, tat - self.burst * interval - now)


def burst_for(rate_per_s: float) -> int:
    """A burst of about one second's worth, so a short queue goes out at once."""
    return max(1, math.floor(rate_per_s))
