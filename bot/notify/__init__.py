"""Telling staff where they already are: one thin sender per channel (WeCom application
messages, e-mail), behind `StaffNotifier`, which the digest (bot/services/staff_notices.py)
calls once per staff member and run.

A channel sends one text to one address and says what happened as a `SendResult`, with the
same three kinds of failure as the outbox senders (bot/dispatch/sender.py): retryable,
permanent for this address, or neither (configuration: wrong secret, IP not allowed). It
never raises for what the far side did, never touches the database, and never puts a
secret or an access_token in what it returns (that text is stored as `last_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from bot.dispatch.sender import SendResult

log = logging.getLogger(__name__)

# Codes of our own beside the platforms' (and bot/channels/wechat/api.py's -100x).
NOT_CONFIGURED = -3001  # the person asked for a channel this deployment has not set up
NO_ADDRESS = -3002  # the person has no e-mail address / WeCom userid on record
UNEXPECTED = -3003  # a channel raised: a bug, recorded without its (possibly secret) text

_SETTING = {"email": "HUIFANG_SMTP_HOST", "wecom": "HUIFANG_WECOM_CORP_ID, _AGENT_ID, _SECRET"}


class StaffChannel(Protocol):
    # The StaffUser.notify_via value it serves: "email" | "wecom".
    @property
    def name(self) -> str: ...

    # The longest body it carries, in UTF-8 bytes (WeCom text: 2048); None: no such limit.
    @property
    def max_bytes(self) -> int | None: ...

    async def send(self, address: str, subject: str, body: str) -> SendResult: ...

    async def aclose(self) -> None: ...


class StaffNotifier:
    """The channels this process can reach staff on; built once by the container."""

    def __init__(self, channels: Iterable[StaffChannel] = ()) -> None:
        self._channels = {channel.name: channel for channel in channels}

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted(self._channels))

    def max_bytes(self, via: str) -> int | None:
        channel = self._channels.get(via)
        return channel.max_bytes if channel is not None else None

    async def send(self, via: str, address: str | None, subject: str, body: str) -> SendResult:
        """Send `body` (and `subject`, where the channel has one) to `address` on `via`."""
        channel = self._channels.get(via)
        if channel is None:
            hint = _SETTING.get(via)
            detail = f"{via} is not configured here（未配置该通知方式）" + (f": set {hint}" if hint else "")
            return SendResult(False, NOT_CONFIGURED, detail)
        if not address or not address.strip():
            return SendResult(
                False, NO_ADDRESS, f"no {via} address on record（未填写联系方式）", permanent=True, reason="no_address"
            )
        try:
            return await channel.send(address.strip(), subject, body)
        except Exception as error:  # noqa: BLE001 — a channel bug must not stop everyone else's digest
            # Only the type: an exception's text may carry a URL with a secret or token in it.
            log.error("staff notice channel %s raised %s", via, type(error).__name__)
            return SendResult(False, UNEXPECTED, f"{via} channel error: {type(error).__name__}")

    async def aclose(self) -> None:
        for channel in self._channels.values():
            try:
                await channel.aclose()
            except Exception as error:  # noqa: BLE001 — closing the rest matters more
                log.warning("closing staff channel %s failed: %s", channel.name, type(error).__name__)


__all__ = ["NOT_CONFIGURED", "NO_ADDRESS", "UNEXPECTED", "StaffChannel", "StaffNotifier"]
