"""The worker loop: dispatch passes until told to stop.

`huifang worker` runs it as its own process (as many as wanted, on PostgreSQL); on the
embedded SQLite default the app runs one inside the web process instead (`start_in_process`).
Processes share each account's access_token and rate limit through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from bot.channels.wechat.accounts import AccountDirectory
from bot.channels.wechat.api import LocalTokenStore, RedisTokenStore, TokenStore
from bot.dispatch.dispatcher import DispatchStats, dispatch_once
from bot.dispatch.rate_limit import RateLimiter, burst_for
from bot.dispatch.sender import Sender
from bot.dispatch.wechat import CHANNEL as WECHAT
from bot.dispatch.wechat import WeChatSender
from bot.settings import Settings
from storage.db import Database
from storage.secrets import SecretBox

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_senders(
    settings: Settings, *, db: Database, http: httpx.AsyncClient, redis: Redis | None
) -> dict[str, Sender]:
    """The senders this process can run: WeChat (Redis, or SQLite's single process), Telegram."""
    senders: dict[str, Sender] = {}
    if settings.telegram_bots:
        # Imported here: aiogram is loaded only where a Telegram bot is configured.
        from bot.dispatch.telegram import CHANNEL as TELEGRAM
        from bot.dispatch.telegram import TelegramSender

        senders[TELEGRAM] = TelegramSender(db, settings.telegram_bots, api_base=settings.telegram_api_base)
    if redis is not None:
        tokens: TokenStore | None = RedisTokenStore(redis)
    elif db.dialect == "sqlite":
        # The embedded default: one process serves and sends, so its own memory can hold
        # the account's one access_token.
        tokens = LocalTokenStore()
    else:
        tokens = None
        # Several processes must share one access_token per account (a second fetch
        # retires the first), through Redis; without it WeChat rows wait in the outbox
        # rather than knock out each other's token.
        log.warning(
            "WeChat messages are not sent: set HUIFANG_REDIS_URL (the access_token is "
            "shared through Redis). 未配置 Redis，微信消息暂不发送。"
        )
    if tokens is not None:
        limiter = RateLimiter(
            settings.wechat_rate_per_s,
            burst=burst_for(settings.wechat_rate_per_s),
            redis=redis,
        )
        senders[WECHAT] = WeChatSender(
            db,
            accounts=AccountDirectory(db, box=SecretBox(settings.secret_keys)),
            http=http,
            tokens=tokens,
            limiter=limiter,
            base_url=settings.wechat_api_base,
            timeout_s=settings.wechat_api_timeout_s,
        )
    return senders


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


@contextlib.asynccontextmanager
async def _resources(settings: Settings, db: Database | None) -> AsyncIterator[tuple[Database, dict[str, Sender]]]:
    own_db = db is None
    database = db if db is not None else Database(settings.database_url)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    senders: dict[str, Sender] = {}
    try:
        async with httpx.AsyncClient() as http:
            senders = build_senders(settings, db=database, http=http, redis=redis)
            yield database, senders
    finally:
        for sender in senders.values():
            close = getattr(sender, "aclose", None)  # senders holding their own connections
            if close is not None:
                await close()
        if redis is not None:
            await redis.aclose()
        if own_db:
            await database.dispose()


async def run_worker(
    settings: Settings,
    *,
    stop: asyncio.Event,
    db: Database | None = None,
    clock: Clock = utcnow,
) -> None:
    """Run until `stop` is set. Pass `db` to share the caller's Database (the in-process
    worker on SQLite must: one process, one writer)."""
    async with _resources(settings, db) as (database, senders):
        if not senders:
            log.warning("outbox worker has no channel to send on; it will only wait")
        await run_dispatcher(database, senders, settings=settings, stop=stop, clock=clock)


async def run_until_signalled(settings: Settings) -> None:
    """`huifang worker`: run until SIGTERM or SIGINT, then finish the pass and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("outbox worker started")
    try:
        await run_worker(settings, stop=stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("outbox worker stopped")


class InProcessWorker:
    """The embedded default's worker, inside the web process: started and stopped by the
    app lifespan, sharing its Database."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            run_worker(settings, stop=self._stop, db=db), name="huifang-outbox-worker"
        )

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


def wants_in_process_worker(settings: Settings, db: Database) -> bool:
    if settings.in_process_worker is not None:
        return settings.in_process_worker
    return db.dialect == "sqlite"
