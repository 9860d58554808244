"""POST /telegram/{bot_name}: Telegram's webhook, in the same FastAPI app as everything else.

    secret header checked in constant time → 403, nothing read
    body capped → 413; not JSON or not an Update → 400 (never 500)
    runtime.handle in one transaction, which also keeps the reply in the outbox
    (a redelivered update_id records and keeps nothing new)
    200 at once; the reply is sent in the background after the commit, and what could not
    be sent then is sent by the outbox worker

A runtime failure answers 500 on purpose: nothing was committed, and Telegram retries.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.types import Update
from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, Response

from bot.channels.telegram.config import DEFAULT_API_BASE, TelegramBot, TelegramSettings, make_bot, webhook_url
from bot.channels.telegram.handler import TelegramHandler
from bot.channels.telegram.parse import parse_update
from bot.services.runtime import Runtime

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 256 * 1024  # a text message is at most 4096 characters; updates are small
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def telegram_router(runtime_getter: Callable[[], Runtime], settings: TelegramSettings) -> APIRouter:
    """The webhook route for every configured bot; its lifespan opens and closes their sessions."""
    configs = {b.name: b for b in settings.telegram_bots}
    bots: dict[str, Bot] = {}
    handler = TelegramHandler(runtime_getter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        handler.organisations = app.state.container.telegram_organisations
        for name, config in configs.items():
            bots[name] = make_bot(config.token.get_secret_value(), settings.telegram_api_base)
        try:
            yield
        finally:
            opened = list(bots.values())
            bots.clear()
            for bot in opened:
                await bot.session.close()

    router = APIRouter(tags=["telegram"], lifespan=lifespan)

    @router.post(
        "/telegram/{bot_name}",
        summary="Telegram webhook",
        responses={
            400: {"description": "not a Telegram update"},
            403: {"description": "wrong or missing secret token"},
            404: {"description": "no such bot"},
            413: {"description": "body too large"},
        },
    )
    async def webhook(bot_name: str, request: Request, background: BackgroundTasks) -> Response:
        config = configs.get(bot_name)
        bot = bots.get(bot_name)
        if config is None or bot is None:
            raise HTTPException(404, detail="未知的机器人 unknown bot")
        if not secret_matches(config, request.headers.get(SECRET_HEADER)):
            raise HTTPException(403, detail="密钥不符 wrong secret token")
        body = await _read_capped(request, MAX_BODY_BYTES)
        try:
            update = Update.model_validate(json.loads(body), context={"bot": bot})
            parsed = parse_update(bot_name, update, datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 — parsing is pure: any failure is the input's
            raise HTTPException(400, detail=f"不是有效的更新 not a Telegram update ({type(exc).__name__})") from None
        background.add_task(await handler.process(bot_name, bot, parsed))
        return Response(status_code=200)

    return router


def secret_matches(config: TelegramBot, given: str | None) -> bool:
    if config.webhook_secret is None or given is None:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may carry any byte.
    return hmac.compare_digest(given.encode(), config.webhook_secret.get_secret_value().encode())


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, detail="请求过大 body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, detail="请求过大 body too large")
    return bytes(body)


async def register_webhook(config: TelegramBot, public_base_url: str, api_base: str = DEFAULT_API_BASE) -> str:
    """Tell Telegram where to post this bot's updates, with its secret; returns the URL.

    Pending updates are kept (drop_pending_updates=False): they are handled when they arrive.
    """
    url = webhook_url(config, public_base_url)
    assert config.webhook_secret is not None  # webhook_url refuses a bot without one
    bot = make_bot(config.token.get_secret_value(), api_base)
    try:
        await bot.set_webhook(
            url=url,
            secret_token=config.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    finally:
        await bot.session.close()
    return url
