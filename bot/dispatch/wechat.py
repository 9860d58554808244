"""Sending outbox rows over a WeChat Official Account.

Which way a message can go (WeChat's rules, see shared/design.md):
- customer-service message (`custom`) while the recipient wrote to us within 48 h and fewer
  than 5 customer-service messages went to them since that message;
- otherwise the account's template message, if it has one;
- otherwise nothing: the row is "unreachable" with the reason.
If WeChat refuses a customer-service message because the window or quota is gone (45015,
45047; our record of it can lag behind WeChat's), the template is tried in the same attempt.
43004 (not subscribed) means the person has left: the respondent is marked unreachable.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx

from bot.channels.wechat.accounts import AccountConfig
from bot.channels.wechat.api import DEFAULT_BASE_URL, TokenStore, WeChatApi
from bot.channels.wechat.webhook import AccountKeys
from bot.dispatch.rate_limit import RateLimiter
from bot.dispatch.sender import Outcome, SendResult
from bot.dispatch.templates import template_data
from bot.services.account_directory import AccountDirectory
from storage.db import Database
from storage.models import OutboxMessage, Respondent
from storage.repositories.outbox import OutboxRepository

log = logging.getLogger(__name__)

CHANNEL = "wechat"
WINDOW = timedelta(hours=48)
CS_QUOTA = 5  # customer-service messages per message from the respondent
CS_REFUSED = frozenset({45015, 45047})  # window closed / quota used up, says WeChat
NOT_SUBSCRIBED = 43004

# Why no customer-service message can go: (code, English, Chinese) for the row's reason.
WINDOW_CLOSED = ("window_closed", "48 h window closed", "48 小时窗口已关闭")
QUOTA_USED = ("cs_quota_exceeded", "customer-service quota used up", "客服消息额度已用完")

# Codes of our own, beside api.py's: the account cannot be used for sending at all.
ACCOUNT_MISSING = -2001
ACCOUNT_UNUSABLE = -2002


class WeChatSender:
    def __init__(
        self,
        db: Database,
        *,
        http: httpx.AsyncClient,
        tokens: TokenStore,
        limiter: RateLimiter,
        accounts: AccountDirectory,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 5.0,
        key_prefix: str = "huifang:wechat",
    ) -> None:
        self._db = db
        self._http = http
        self._tokens = tokens
        self._limiter = limiter
        self._accounts = accounts
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._key_prefix = key_prefix
        self._apis: dict[str, tuple[AccountKeys, WeChatApi]] = {}

    async def send(
        self, row: OutboxMessage, respondent: Respondent | None, *, now: datetime
    ) -> Outcome:
        try:
            account = await self._accounts.get(row.account)
        except ValueError as exc:  # stored, but its secrets do not make a usable account
            return Outcome(SendResult(False, ACCOUNT_UNUSABLE, str(exc)))
        if account is None:
            return Outcome(
                SendResult(False, ACCOUNT_MISSING, f"no WeChat account named {row.account!r}")
            )
        if not account.keys.app_secret:
            return Outcome(
                SendResult(
                    False,
                    ACCOUNT_UNUSABLE,
                    f"WeChat account {row.account!r} has no app_secret: it cannot send",
                )
            )
        api = self._api(account.keys)

        refused: SendResult | None = None
        closed = await self._custom_closed(row, now)
        if closed is None:
            await self._limiter.acquire(f"{CHANNEL}:{row.account}")
            result = await api.send_text(row.external_id, row.text)
            if result.ok:
                return Outcome(result, via="custom")
            if result.errcode not in CS_REFUSED:
                return self._failure(result)
            refused = result
            closed = QUOTA_USED if result.errcode == 45047 else WINDOW_CLOSED

        if account.template_id:
            return await self._send_template(api, account, row, respondent)
        code, english, chinese = closed
        reason = f"{code}: {english} and no template（{chinese}，且未配置模板消息）"
        return Outcome(refused, unreachable=reason)

    async def _custom_closed(
        self, row: OutboxMessage, now: datetime
    ) -> tuple[str, str, str] | None:
        """Why a customer-service message cannot go now (by our records), or None."""
        async with self._db.transaction() as s:
            outbox = OutboxRepository(s)
            last = await outbox.last_inbound_at(CHANNEL, row.account, row.external_id)
            if last is None or now - last >= WINDOW:
                return WINDOW_CLOSED
            used = await outbox.cs_sent_since(CHANNEL, row.account, row.external_id, last)
        return QUOTA_USED if used >= CS_QUOTA else None

    async def _send_template(
        self,
        api: WeChatApi,
        account: AccountConfig,
        row: OutboxMessage,
        respondent: Respondent | None,
    ) -> Outcome:
        assert account.template_id is not None
        data = template_data(
            kind=row.kind,
            text=row.text,
            created_at=row.created_at,
            lang=respondent.lang if respondent is not None else None,
            override=row.template_data,
        )
        await self._limiter.acquire(f"{CHANNEL}:{row.account}")
        result = await api.send_template(row.external_id, account.template_id, data)
        if result.ok:
            return Outcome(result, via="template")
        return self._failure(result)

    @staticmethod
    def _failure(result: SendResult) -> Outcome:
        if result.errcode == NOT_SUBSCRIBED:
            return Outcome(result, respondent_unreachable="wechat: not subscribed (43004)")
        return Outcome(result)

    def _api(self, keys: AccountKeys) -> WeChatApi:
        """One client per account, made again when its keys change (a rotated secret)."""
        cached = self._apis.get(keys.name)
        if cached is not None and cached[0] == keys:
            return cached[1]
        api = WeChatApi(
            keys,
            http=self._http,
            tokens=self._tokens,
            base_url=self._base_url,
            timeout_s=self._timeout_s,
            key_prefix=self._key_prefix,
        )
        self._apis[keys.name] = (keys, api)
        return api
