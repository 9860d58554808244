"""Long polling (getUpdates) for a machine without a public https URL: `huifang telegram-poll`.

Each update goes through the same handler as the webhook; its reply is kept in the outbox
with the turn and sent before the next update is read, so a respondent sees answers in order.
What could not be sent at once is sent by the outbox worker: on the embedded SQLite default
one runs inside this process, as it does inside the web process. The offset moves past an update only
once it was handled: if the database is down the same update is tried again (with backoff),
and a redelivery after a restart is recognised by its update_id and recorded nothing new.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.channels.telegram.config import DEFAULT_API_BASE, choose_bot, make_bot
from bot.channels.telegram.handler import TelegramHandler
from bot.channels.telegram.parse import BadUpdate, parse_update
from bot.channels.telegram.webhook import ALLOWED_UPDATES
from bot.services.runtime import Runtime
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

POLL_TIMEOUT_S = 25  # Telegram holds getUpdates open this long when there is nothing new
MAX_ATTEMPTS = 5  # per update, before it is logged and skipped (one poison update must not stall the bot)
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)


async def poll(
    runtime: Runtime,
    bot_token: str,
    api_base: str = DEFAULT_API_BASE,
    *,
    bot_name: str | None = None,
    stop: asyncio.Event | None = None,
    poll_timeout: int = POLL_TIMEOUT_S,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: BackoffConfig = BACKOFF,
    organisation_id: int | None = None,
) -> None:
    """Handle updates until `stop` is set (at once, even mid long-poll).

    `bot_name` is the account respondents are stored under; keep it equal to the name the
    webhook uses for this bot (default: the bot's @username from getMe).
    """
    stop = stop or asyncio.Event()
    bot = make_bot(bot_token, api_base)
    handler = TelegramHandler(lambda: runtime)
    try:
        # A wrong token fails here, loudly (TelegramUnauthorizedError), instead of looping.
        account = bot_name or (await bot.get_me()).username
        if not account:
            raise RuntimeError("getMe returned no username: pass bot_name")
        handler.organisations = {account: organisation_id}
        # getUpdates is refused (409) while a webhook is set.
        await bot.delete_webhook(drop_pending_updates=False)
        log.info("telegram %s: polling %s", account, api_base)
        offset: int | None = None
        waits = Backoff(backoff)
        while not stop.is_set():
            try:
                updates = await _unless_stopped(
                    stop,
                    bot.get_updates(
                        offset=offset,
                        timeout=poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                        # longer than the long poll itself, or every quiet poll would time out
                        request_timeout=int(bot.session.timeout + poll_timeout),
                    ),
                )
            except TelegramRetryAfter as e:
                log.warning("telegram %s: flood control, polling again in %s s", account, e.retry_after)
                await _sleep(stop, e.retry_after)
                continue
            except Exception as e:  # noqa: BLE001 — network trouble must not end polling
                log.warning("telegram %s: getUpdates failed (%s: %s); retrying", account, type(e).__name__, e)
                await _sleep(stop, next(waits))
                continue
            if updates is None:
                break
            waits.reset()
            for update in updates:
                if stop.is_set():
                    break
                if await _handle(handler, account, bot, update, stop, max_attempts, backoff):
                    offset = update.update_id + 1
                else:
                    break  # stopped while retrying: the update stays unconfirmed for next time
    finally:
        await bot.session.close()


async def _handle(
    handler: TelegramHandler,
    account: str,
    bot: Bot,
    update: Update,
    stop: asyncio.Event,
    max_attempts: int,
    backoff: BackoffConfig,
) -> bool:
    """True when the update is done with (handled, or given up on); False when stopped."""
    try:
        parsed = parse_update(account, update, datetime.now(UTC))
    except BadUpdate as exc:
        log.warning("telegram %s: update %s skipped: %s", account, update.update_id, exc)
        return True
    except Exception:  # noqa: BLE001 — an update we cannot read will not get better
        log.exception("telegram %s: update %s skipped, cannot be parsed", account, update.update_id)
        return True
    waits = Backoff(backoff)
    for attempt in range(1, max_attempts + 1):
        try:
            delivery = await handler.process(account, bot, parsed)
        except Exception:  # noqa: BLE001
            if attempt == max_attempts:
                log.exception("telegram %s: update %s skipped after %d attempts", account, update.update_id, attempt)
                return True
            log.warning("telegram %s: update %s failed, attempt %d", account, update.update_id, attempt, exc_info=True)
            if not await _sleep(stop, next(waits)):
                return False
            continue
        await delivery()
        return True
    return True


async def _unless_stopped(stop: asyncio.Event, call: Awaitable[T]) -> T | None:
    """The call's result, or None as soon as `stop` is set (the call is cancelled)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return None


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`; False when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0.0))
    except TimeoutError:
        return True
    return False


async def run_polling(settings: Settings, bot_name: str | None = None, *, stop: asyncio.Event | None = None) -> int:
    """`huifang telegram-poll`: prepare the database, then poll one configured bot until Ctrl-C."""
    from bot.container import open_container
    from bot.dispatch.worker import InProcessWorker

    config = choose_bot(settings.telegram_bots, bot_name)
    if isinstance(config, str):
        print(config, file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    own_signals = stop is None
    stop = stop or asyncio.Event()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with open_container(settings) as container:
            worker = InProcessWorker(container) if container.wants_in_process_worker else None
            print(f"回访 huifang: polling Telegram as {config.name}; Ctrl-C to stop 按 Ctrl-C 停止", file=sys.stderr)
            try:
                await poll(
                    container.runtime,
                    config.token.get_secret_value(),
                    settings.telegram_api_base,
                    bot_name=config.name,
                    stop=stop,
                    organisation_id=container.telegram_organisations.get(config.name),
                )
            finally:
                if worker is not None:
                    await worker.stop()
        return 0
    finally:
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
