"""Which Telegram bots huifang answers for; read from HUIFANG_TELEGRAM_BOTS by bot.settings.

    HUIFANG_TELEGRAM_BOTS='[{"name": "huifang_bot", "token": "123:AA…", "webhook_secret": "…"}]'

`name` becomes the account of every respondent identity and delivery key, so it must stay
the same for the bot's whole life, in webhook and in polling mode: use the bot's @username.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

if TYPE_CHECKING:
    from aiogram import Bot

DEFAULT_API_BASE = "https://api.telegram.org"

# Usernames are 5–32 of these characters. Telegram takes a secret_token (sent back in the
# X-Telegram-Bot-Api-Secret-Token header) of 1–256 of [A-Za-z0-9_-]; we ask for 16 or more.
BOT_NAME_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
WEBHOOK_SECRET_PATTERN = r"^[A-Za-z0-9_-]{16,256}$"
_TOKEN_PATTERN = r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$"


class TelegramBot(BaseModel):
    # hide_input_in_errors: a mistyped token must not end up in a log or a traceback.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: str = Field(pattern=BOT_NAME_PATTERN)
    token: SecretStr
    # None: the bot is only polled, and its webhook route refuses every request.
    webhook_secret: SecretStr | None = None
    # Code of the organisation the bot serves (huifang orgs add): new respondents join it.
    organisation: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: SecretStr) -> SecretStr:
        if not re.fullmatch(_TOKEN_PATTERN, token.get_secret_value()):
            raise ValueError("a bot token looks like 123456789:AAE… (from @BotFather)")
        return token

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not re.fullmatch(WEBHOOK_SECRET_PATTERN, secret.get_secret_value()):
            raise ValueError(
                "webhook_secret must be 16–256 characters of A-Z a-z 0-9 _ - "
                "(what Telegram accepts as secret_token)"
            )
        return secret


class TelegramSettings(Protocol):
    """The part of bot.settings.Settings this channel reads."""

    @property
    def telegram_bots(self) -> Sequence[TelegramBot]: ...  # read-only, so a list[...] field fits
    @property
    def telegram_api_base(self) -> str: ...


def choose_bot(bots: Sequence[TelegramBot], bot_name: str | None) -> TelegramBot | str:
    """The one configured bot to poll, or why there is none (a line for the operator)."""
    chosen = [b for b in bots if bot_name in (None, b.name)]
    if len(chosen) == 1:
        return chosen[0]
    names = ", ".join(b.name for b in bots) or "none 无"
    problem = f"no bot named {bot_name}" if bot_name else "choose a bot with --bot"
    return f"请在 HUIFANG_TELEGRAM_BOTS 中配置机器人并用 --bot 选择 {problem}; configured: {names}"


def make_bot(token: str, api_base: str = DEFAULT_API_BASE) -> Bot:
    """An aiogram Bot talking to `api_base` (Telegram, a local Bot API server, or a fake)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))


def webhook_url(config: TelegramBot, public_base_url: str) -> str:
    """Where Telegram is to post `config`'s updates; ValueError when it cannot be registered.
    Apart from the webhook module so the CLI refuses at once, before importing aiogram (4 s)."""
    if config.webhook_secret is None:
        raise ValueError(f"bot {config.name} has no webhook_secret: set one before using a webhook")
    if not public_base_url.startswith("https://"):
        raise ValueError("Telegram posts only to https:// URLs")
    return f"{public_base_url.rstrip('/')}/telegram/{config.name}"
