"""The composition root: everything a process needs, built once from `Settings`.

    async with open_container(settings) as c:   # web app lifespan, `huifang worker`,
        c.db, c.runtime, c.senders(), …          # the console, Telegram polling, every CLI

Nothing here is made at import time, and nothing else in huifang builds a Database, a
Redis client, a token store or a sender of its own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from redis.asyncio import Redis

from bot.channels.wechat.api import LocalTokenStore, RedisTokenStore, TokenStore
from bot.channels.wechat.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from bot.dispatch.rate_limit import RateLimiter, burst_for
from bot.dispatch.sender import Sender
from bot.notify import StaffChannel, StaffNotifier
from bot.services.account_directory import AccountDirectory
from bot.services.catalog import FlowCache
from bot.services.flows import prepare
from bot.services.organisations import ids_by_code
from bot.services.runtime import Runtime
from bot.settings import Settings
from bot.web.client_limits import RateLimit
from storage.db import Database
from storage.secrets import SecretBox

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    db: Database
    redis: Redis | None
    http: httpx.AsyncClient
    flows: FlowCache
    runtime: Runtime
    secrets: SecretBox  # decrypts the secrets stored in the database (HUIFANG_SECRET_KEY)
    wechat_accounts: AccountDirectory
    replay_guard: ReplayGuard
    login_failures: RateLimit | None = None  # per client address (Settings.login_rate_limit)
    telegram_organisations: dict[str, int | None] = field(default_factory=dict)  # bot name → id
    clock: Clock = utcnow
    _senders: dict[str, Sender] | None = field(default=None, repr=False)
    _staff_notifier: StaffNotifier | None = field(default=None, repr=False)
    _local_tokens: LocalTokenStore = field(default_factory=LocalTokenStore, repr=False)

    @property
    def tokens(self) -> TokenStore | None:
        """Where WeChat access tokens live: Redis for many processes; this process's memory on
        the embedded default; nowhere on PostgreSQL without Redis, since processes that each
        fetched their own token would keep retiring each other's."""
        if self.redis is not None:
            return RedisTokenStore(self.redis)
        if self.db.dialect == "sqlite":
            return self._local_tokens
        return None

    @property
    def wants_in_process_worker(self) -> bool:
        if self.settings.in_process_worker is not None:
            return self.settings.in_process_worker
        return self.db.dialect == "sqlite"

    def senders(self) -> dict[str, Sender]:
        """The channels this process can send on, built on first use and kept."""
        if self._senders is None:
            self._senders = self._build_senders()
        return self._senders

    def _build_senders(self) -> dict[str, Sender]:
        settings = self.settings
        senders: dict[str, Sender] = {}
        if settings.telegram_bots:
            # Imported here: aiogram is loaded only where a Telegram bot is configured.
            from bot.dispatch.telegram import CHANNEL as TELEGRAM
            from bot.dispatch.telegram import TelegramSender

            senders[TELEGRAM] = TelegramSender(self.db, settings.telegram_bots, api_base=settings.telegram_api_base)
        tokens = self.tokens
        if tokens is None:
            log.warning(
                "WeChat messages are not sent: set HUIFANG_REDIS_URL (the access_token is "
                "shared through Redis). 未配置 Redis，微信消息暂不发送。"
            )
            return senders
        from bot.dispatch.wechat import CHANNEL as WECHAT
        from bot.dispatch.wechat import WeChatSender

        limiter = RateLimiter(settings.wechat_rate_per_s, burst=burst_for(settings.wechat_rate_per_s), redis=self.redis)
        senders[WECHAT] = WeChatSender(
            self.db,
            http=self.http,
            tokens=tokens,
            limiter=limiter,
            accounts=self.wechat_accounts,
            base_url=settings.wechat_api_base,
            timeout_s=settings.wechat_api_timeout_s,
        )
        return senders

    def staff_notifier(self) -> StaffNotifier:
        """The channels staff digests go out on (WeCom, e-mail), built on first use and kept;
        one without channels when neither is configured."""
        if self._staff_notifier is None:
            self._staff_notifier = StaffNotifier(self._build_staff_channels())
        return self._staff_notifier

    def _build_staff_channels(self) -> list[StaffChannel]:
        settings = self.settings
        channels: list[StaffChannel] = []
        timeout_s = settings.staff_notify_timeout_s
        if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None:
            from bot.notify.wecom import WeComChannel

            channels.append(
                WeComChannel(
                    corp_id=settings.wecom_corp_id,
                    agent_id=settings.wecom_agent_id,
                    secret=settings.wecom_secret.get_secret_value(),
                    api_base=settings.wecom_api_base,
                    timeout_s=timeout_s,
                )
            )
        elif settings.wecom_corp_id or settings.wecom_secret or settings.wecom_agent_id is not None:
            log.warning(
                "WeCom notices are off: set all of HUIFANG_WECOM_CORP_ID, HUIFANG_WECOM_AGENT_ID and "
                "HUIFANG_WECOM_SECRET. 企业微信通知未启用：三项设置缺一不可。"
            )
        if settings.smtp_host:
            from bot.notify.smtp import SmtpChannel

            sender = settings.smtp_from or settings.smtp_user
            if not sender:
                log.warning("e-mail notices are off: set HUIFANG_SMTP_FROM. 邮件通知未启用：请设置发件人。")
            else:
                channels.append(
                    SmtpChannel(
                        host=settings.smtp_host,
                        port=settings.smtp_port,
                        sender=sender,
                        username=settings.smtp_user,
                        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                        # TLS from the start makes STARTTLS moot.
                        starttls=settings.smtp_starttls and not settings.smtp_use_tls,
                        use_tls=settings.smtp_use_tls,
                        timeout_s=timeout_s,
                    )
                )
        return channels

    async def aclose(self) -> None:
        for sender in (self._senders or {}).values():
            close = getattr(sender, "aclose", None)  # senders holding their own connections
            if close is not None:
                await close()
        self._senders = None
        if self._staff_notifier is not None:
            await self._staff_notifier.aclose()
            self._staff_notifier = None


@asynccontextmanager
async def open_container(
    settings: Settings | None = None,
    *,
    prepare_database: bool = True,
    publish_defaults: bool | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[Container]:
    """Everything built from `settings`, opened in order and closed in reverse.

    `prepare_database`: migrate (when HUIFANG_AUTO_MIGRATE) and seed the bundled flows
    (when HUIFANG_PUBLISH_DEFAULT_FLOWS) first; commands that only read pass False.
    """
    settings = settings or Settings()
    box = SecretBox(settings.secret_keys)  # a malformed key fails here, at start-up
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_s,
    )
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    container: Container | None = None
    try:
        if prepare_database:
            await prepare(
                db,
                migrate=settings.auto_migrate,
                publish_defaults=settings.publish_default_flows if publish_defaults is None else publish_defaults,
                extra_dir=settings.extra_flows_dir,
            )
        async with httpx.AsyncClient() as http:
            flows = FlowCache()
            container = Container(
                settings=settings,
                db=db,
                redis=redis,
                http=http,
                flows=flows,
                runtime=Runtime(db, settings.engine, flows, settings.tickets),
                secrets=box,
                wechat_accounts=AccountDirectory(db, box=box),
                # Plaintext WeChat accounts' used (timestamp, nonce) pairs: shared through
                # Redis by every process; in this process's memory on the embedded default.
                replay_guard=(
                    RedisReplayGuard(redis, window_s=settings.wechat_replay_window_s)
                    if redis is not None
                    else MemoryReplayGuard(window_s=settings.wechat_replay_window_s)
                ),
                login_failures=RateLimit(settings.login_rate_limit, settings.login_rate_window_s),
                clock=clock,
            )
            if settings.telegram_bots:
                container.telegram_organisations = await _telegram_organisations(db, settings)
            try:
                yield container
            finally:
                await container.aclose()
    finally:
        if redis is not None:
            await redis.aclose()
        await db.dispose()


async def _telegram_organisations(db: Database, settings: Settings) -> dict[str, int | None]:
    """Each configured bot's organisation id; an unknown code stops the start with its name."""
    codes = {b.organisation for b in settings.telegram_bots if b.organisation}
    async with db.transaction() as s:
        ids = await ids_by_code(s, codes) if codes else {}
    return {b.name: ids.get(b.organisation) if b.organisation else None for b in settings.telegram_bots}
