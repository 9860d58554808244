"""How often one client address may do something, counted in this process's memory."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    """At most `limit` requests per `window_s` seconds from one client address, in memory.

    Per process, and keyed by the address the server sees (a reverse proxy's own address
    unless the server is told to trust its forwarding headers): enough to stop a script from
    filling the database through a demo tool, not an accounting system. At most
    `max_clients` addresses are remembered, so many addresses cannot exhaust memory.
    """

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ):
        self.limit, self.window_s, self.clock, self.max_clients = limit, window_s, clock, max_clients
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str) -> float | None:
        """Counts the request and returns None, or the seconds to wait when over the limit."""
        now = self.clock()
        hits = self._hits.get(client)
        if hits is None:
            if len(self._hits) >= self.max_clients:
                self._forget(now)
            hits = self._hits[client] = deque()
        wait = self._wait(hits, now)
        if wait is None:
            hits.append(now)
        return wait

    def _forget(self, now: float) -> None:
        for client in [c for c, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
            del self._hits[client]
        while len(self._hits) >= self.max_clients:  # all busy: the longest known goes first
            del self._hits[next(iter(self._hits))]

    def waiting(self, client: str) -> float | None:
        """The seconds to wait when `client` is over the limit now, without counting."""
        hits = self._hits.get(client)
        return self._wait(hits, self.clock()) if hits else None

    def _wait(self, hits: deque[float], now: float) -> float | None:
        """Drops the hits outside the window; the seconds to wait when the rest fill it."""
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits[0] + self.window_s - now if len(hits) >= self.limit else None
