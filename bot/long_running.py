"""What a long-running process (the web app, `huifang worker`) does once it has started."""

from __future__ import annotations

import gc


def settle_after_start() -> None:
    """Everything made at start — modules, SQLAlchemy's mappers and statement caches, FastAPI's
    routes, the flow catalogue — lives as long as the process. `gc.freeze()` moves it out of
    the collector's sight, so a full collection no longer walks a few hundred thousand objects
    that can never be garbage while a person's message waits (measured with bench/webhook.py:
    full collections of 0.3-0.9 s in each web process under load, the tail of the latency)."""
    gc.collect()
    gc.freeze()
