"""One sendMessage for one outbox row, and what Telegram's answer means for the row.

Shared by the eager send after the commit (delivery.py) and the dispatcher's Telegram
sender (bot/dispatch/telegram.py), so both read Telegram's errors the same way:

    429 flood control, 5xx, no answer   retryable: the row waits and is sent later
    403 (blocked, deactivated, kicked)  the chat is gone: respondent unreachable
    400 (e.g. chat not found)           permanent for this message: failed, with the reason
    401 / 404 (token, API address)      an operator must act: retried until attempts run out
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.channels.telegram.outgoing import markup_of
from bot.dispatch.sender import SendResult

log = logging.getLogger(__name__)

# Our own codes, beside Telegram's HTTP-like error_code, for `last_errcode` on the row.
NO_ANSWER = -4001  # connection failed or timed out: Telegram may or may not have it
BAD_ANSWER = -4002  # an answer that is not the Bot API's JSON
WAITING = -4003  # an earlier message to the same chat is not out yet
NO_SUCH_BOT = -4004  # the row names a bot that is not in HUIFANG_TELEGRAM_BOTS
BAD_ROW = -4005  # the row's chat id or keyboard cannot be read
OUT_OF_TIME = -4006  # the eager send ran out of time before this row

REQUEST_TIMEOUT_S = 10  # per call: far below the outbox's stale_after (≥ 30 s)


@dataclass(frozen=True, slots=True)
class Sent:
    result: SendResult
    message_id: int | None = None  # Telegram's id of the message, when sent
    retry_after: int | None = None  # flood control: Telegram's own wait, in seconds
    gone: str | None = None  # the chat refuses all messages: why (respondent unreachable)
    has_keyboard: bool = False


async def send_row(
    bot: Bot,
    external_id: str,
    text: str,
    template_data: Mapping[str, Any] | None,
    *,
    fallback_lang: str = "zh",
    timeout_s: int = REQUEST_TIMEOUT_S,
) -> Sent:
    """Send one row's message; never raises for anything Telegram or the network does."""
    try:
        chat_id = int(external_id)
        markup = markup_of(template_data, fallback_lang)
    except ValueError as exc:
        return Sent(SendResult(False, BAD_ROW, f"unusable row: {exc}", permanent=True, reason="bad_row"))
    try:
        message = await bot.send_message(
            chat_id=chat_id, text=text, reply_markup=markup, request_timeout=timeout_s
        )
    except (TelegramAPIError, ClientDecodeError) as exc:
        return classify(exc)
    return Sent(SendResult(True, 0, "ok"), message.message_id, has_keyboard=markup is not None)


def classify(exc: TelegramAPIError | ClientDecodeError) -> Sent:
    message = getattr(exc, "message", str(exc))
    if isinstance(exc, TelegramRetryAfter):
        return Sent(SendResult(False, 429, message, retryable=True), retry_after=exc.retry_after)
    if isinstance(exc, TelegramForbiddenError):
        gone = f"telegram: {message} (403)"
        return Sent(SendResult(False, 403, message, permanent=True, reason="chat_refuses"), gone=gone)
    if isinstance(exc, TelegramEntityTooLarge):
        return Sent(SendResult(False, 413, message, permanent=True, reason="too_large"))
    if isinstance(exc, TelegramNetworkError):
        return Sent(SendResult(False, NO_ANSWER, message, retryable=True))
    if isinstance(exc, TelegramServerError):
        return Sent(SendResult(False, 500, message, retryable=True))
    if isinstance(exc, ClientDecodeError):
        return Sent(SendResult(False, BAD_ANSWER, message, retryable=True))
    if isinstance(exc, TelegramBadRequest | TelegramMigrateToChat):
        return Sent(SendResult(False, 400, message, permanent=True, reason="refused"))
    # 401 (token revoked), 404 (wrong API address), anything new: an operator must look.
    log.error("telegram refused a message: %s: %s", type(exc).__name__, message)
    return Sent(SendResult(False, _operator_code(exc), message))


def _operator_code(exc: Exception) -> int:
    for cls, code in ((TelegramUnauthorizedError, 401), (TelegramNotFound, 404), (TelegramConflictError, 409)):
        if isinstance(exc, cls):
            return code
    return -4000
