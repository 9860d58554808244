"""Which message each (timestamp, nonce) of a plaintext account's requests was used with.

On a plaintext account the URL `signature` covers token, timestamp and nonce but never the
body: whoever sees one request URL could post any other message under it until the
timestamp leaves the replay window. WeChat's own retries reuse timestamp and nonce with the
same message, so a pair is admitted again only with the fingerprint it was first seen with.

Only pairs whose signature and timestamp were already checked reach the guard, so only
WeChat (or a replay of what WeChat sent) fills it. Safe-mode accounts do not need it: their
msg_signature covers the encrypted body, so a replay can only repeat the same message.

Two implementations: `RedisReplayGuard`, shared by every process, and `MemoryReplayGuard`
for the embedded default (one process, no Redis).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

DEFAULT_PREFIX = "huifang:wechat:replay"
DEFAULT_MAX_ENTRIES = 100_000


class ReplayGuard(Protocol):
    async def admit(self, account: str, timestamp: str, nonce: str, fingerprint: str) -> bool:
        """True when the pair is new, or was first used with this same fingerprint."""
        ...


def _pair(account: str, timestamp: str, nonce: str) -> str:
    # Hashed: the nonce is whatever the query carried, and a separator inside one part
    # must not make two pairs collide.
    parts = "\n".join((timestamp, nonce)).encode("utf-8", "surrogatepass")
    return f"{account}:{hashlib.sha256(parts).hexdigest()}"


def _digest(fingerprint: str) -> str:
    # The fingerprint names the sender: keep only its hash.
    return hashlib.sha256(fingerprint.encode("utf-8", "surrogatepass")).hexdigest()


def _ttl_s(window_s: int) -> int:
    # Timestamps are accepted up to window_s either side of now, so a pair stays usable
    # for up to twice the window after it was first seen.
    if window_s < 1:
        raise ValueError("window_s must be at least 1 second")
    return 2 * window_s


class RedisReplayGuard:
    """`SET key fingerprint NX EX 2×window`; when the key exists, compare what it holds."""

    def __init__(self, redis: Redis, *, window_s: int, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._ttl_s = _ttl_s(window_s)
        self._prefix = prefix

    async def admit(self, account: str, timestamp: str, nonce: str, fingerprint: str) -> bool:
        key = f"{self._prefix}:{_pair(account, timestamp, nonce)}"
        digest = _digest(fingerprint)
        # Twice: the key may expire between the SET that found it and the GET.
        for _ in range(2):
            if await self._redis.set(key, digest, nx=True, ex=self._ttl_s):
                return True
            stored = await self._redis.get(key)
            if stored is not None:
                return (stored.decode() if isinstance(stored, bytes) else stored) == digest
        return False


class MemoryReplayGuard:
    """In-process and bounded: pairs expire after twice the window; past `max_entries`
    the oldest are forgotten first (an attacker cannot add pairs: they must be signed)."""

    def __init__(
        self,
        *,
        window_s: int,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl_s = _ttl_s(window_s)
        self._max = max_entries
        self._clock = clock
        # Insertion order is expiry order: every entry lives the same time.
        self._seen: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def admit(self, account: str, timestamp: str, nonce: str, fingerprint: str) -> bool:
        now = self._clock()
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest[1] > now:
                break
            self._seen.popitem(last=False)
        key, digest = _pair(account, timestamp, nonce), _digest(fingerprint)
        known = self._seen.get(key)
        if known is not None:
            return known[0] == digest
        self._seen[key] = (digest, now + self._ttl_s)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True
