"""What a due job's handler is given besides its transaction and its row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.catalog import FlowCache
from bot.services.staff_notices import StaffDigestConfig
from bot.services.ticket_config import TicketConfig
from flows.engine import EngineConfig
from storage.models import DueJob


@dataclass(frozen=True, slots=True)
class JobConfig:
    """The process's share: built once by the worker from its container."""

    engine: EngineConfig
    flows: FlowCache
    expire_sweep_every: timedelta
    # Staff digests (job `staff_digest`); the worker always sets it. None (some tests): the
    # chain is not seeded, and a run claimed anyway fails, to be retried by another worker.
    staff_digest: StaffDigestConfig | None = None
    tickets: TicketConfig = field(default_factory=TicketConfig)
    # How often running campaigns send what is due (at most a minute: `per_minute`).
    campaign_tick_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class JobContext:
    now: datetime  # the scheduler pass's time (the injected clock), never the wall clock
    config: JobConfig


# Runs inside the job's own transaction, which also marks the job done: raise to undo
# everything it did and have the job tried again later.
JobHandler = Callable[[AsyncSession, DueJob, JobContext], Awaitable[None]]
