"""The worker: outbox dispatch passes and due-jobs passes until told to stop.

`huifang worker` runs it as its own process (as many as wanted, on PostgreSQL); on the
embedded SQLite default the app runs one inside the web process instead (`InProcessWorker`).
Processes share each account's access_token and rate limit through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from datetime import timedelta

from bot.container import Clock, Container, open_container, utcnow
from bot.dispatch.dispatcher import DispatchStats, dispatch_once
from bot.dispatch.scheduler import run_scheduler
from bot.dispatch.sender import Sender
from bot.long_running import settle_after_start
from bot.services.jobs import HANDLERS, JobConfig
from bot.services.staff_notices import StaffDigestConfig
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)


async def run_dispatcher(
    db: Database,
    senders: Mapping[str, Sender],
    *,
    settings: Settings,
    stop: asyncio.Event,
    clock: Clock = utcnow,
) -> None:
    """Dispatch passes until `stop` is set; a pass in progress is finished first."""
    batch = settings.worker_batch
    while not stop.is_set():
        stats: DispatchStats | None = None
        try:
            stats = await dispatch_once(
                db,
                senders,
                now=clock(),
                batch=batch,
                stale_after=timedelta(seconds=settings.outbox_stale_after_s),
                max_attempts=settings.outbox_max_attempts,
                concurrency=settings.worker_concurrency,
            )
        except Exception:
            # The database or Redis is away: keep the worker alive and try again.
            log.exception("dispatch pass failed; trying again in %s s", settings.worker_poll_s)
        if stats is not None and stats.claimed:
            log.info("outbox: %s", stats)
        if stats is not None and stats.claimed >= batch:
            continue  # a full batch: more rows are probably due
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.worker_poll_s)


async def run_worker(container: Container, *, stop: asyncio.Event) -> None:
    """The outbox dispatcher and the due-jobs scheduler side by side until `stop` is set,
    with the container's database, senders and clock; if one of them ends with an error,
    the other is cancelled and the error raised."""
    settings = container.settings
    senders = container.senders()
    if not senders:
        log.warning("outbox worker has no channel to send on; it will only run due jobs")
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            run_dispatcher(container.db, senders, settings=settings, stop=stop, clock=container.clock),
            name="huifang-outbox",
        )
        tasks.create_task(
            run_scheduler(
                container.db,
                HANDLERS,
                config=job_config(container),
                poll_s=settings.scheduler_poll_s,
                batch=settings.scheduler_batch,
                stale_after=timedelta(seconds=settings.job_stale_after_s),
                max_attempts=settings.job_max_attempts,
                stop=stop,
                clock=container.clock,
            ),
            name="huifang-due-jobs",
        )


def job_config(container: Container) -> JobConfig:
    settings = container.settings
    return JobConfig(
        engine=container.runtime.config,
        flows=container.flows,
        expire_sweep_every=timedelta(seconds=settings.expire_sweep_every_s),
        staff_digest=StaffDigestConfig(
            notifier=container.staff_notifier(),
            every=timedelta(seconds=settings.staff_digest_every_s),
            batch=settings.staff_digest_batch,
            max_attempts=settings.staff_notify_max_attempts,
            public_url=settings.public_url,
        ),
        tickets=settings.tickets,
        campaign_tick_every=timedelta(seconds=settings.campaign_tick_every_s),
    )


async def run_until_signalled(settings: Settings) -> None:
    """`huifang worker`: run until SIGTERM or SIGINT, then finish the pass and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("outbox worker started")
    try:
        # Workers migrate (when allowed) but never publish flows: that is the web side's.
        async with open_container(settings, publish_defaults=False) as container:
            settle_after_start()
            await run_worker(container, stop=stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("outbox worker stopped")


class InProcessWorker:
    """The embedded default's worker, inside the web process (or Telegram polling): started
    and stopped by its owner, sharing its container (SQLite: one process, one writer)."""

    def __init__(self, container: Container) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(run_worker(container, stop=self._stop), name="huifang-outbox-worker")

    async def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            self._task.cancel()  # rows it held stay "sending" and are reclaimed later
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except Exception:
            log.exception("in-process outbox worker ended with an error")
