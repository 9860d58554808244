"""All configuration in one place, from HUIFANG_* environment variables (secrets only there)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

from bot.channels.telegram.config import DEFAULT_API_BASE, TelegramBot
from bot.services.ticket_config import TicketConfig
from bot.services.working_time import WorkingTime, WorkingTimeError, parse_working_time
from flows.engine import EngineConfig
from storage.secrets import parse_keys

if TYPE_CHECKING:
    from bot.services.staff import StaffPolicy


class Settings(BaseSettings):
    # hide_input_in_errors: a mistyped token or database password is never echoed in errors.
    # env_ignore_empty: `HUIFANG_X=` (set but empty) means "not set", as people write it.
    model_config = SettingsConfigDict(
        env_prefix="HUIFANG_", extra="ignore", hide_input_in_errors=True, env_ignore_empty=True
    )

    # Embedded default: one SQLite file beside where it is started, no server needed.
    database_url: str = "sqlite+aiosqlite:///./huifang.db"
    redis_url: str | None = None
    auto_migrate: bool = True  # production runs `huifang db upgrade` once instead
    publish_default_flows: bool = True
    extra_flows_dir: Path | None = None

    # Encrypts the secrets stored in the database (WeChat AppSecret, token, EncodingAESKey).
    # Comma-separated: the first encrypts, all decrypt, so keys can be rotated
    # (`huifang secrets new-key`, `huifang secrets rotate`).
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # `huifang serve` processes (--workers); more than one needs PostgreSQL and Redis.
    workers: int = Field(default=1, ge=1, le=64)
    # PostgreSQL connections each process keeps open. Size it to the requests one process has
    # in flight: a request that finds none free waits for one (up to db_pool_timeout_s)
    # instead of opening a connection that is closed again (that churn cost ~12 ms of CPU per
    # connection, measured). Keep workers × (pool + overflow) below the server's max_connections.
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_pool_overflow: int = Field(default=0, ge=0, le=500)
    db_pool_timeout_s: float = Field(default=30, gt=0, le=600)

    # HUIFANG_TELEGRAM_BOTS='[{"name":"huifang_bot","token":"123:AA…","webhook_secret":"…16+ chars"}]'
    telegram_bots: list[TelegramBot] = []
    telegram_api_base: str = DEFAULT_API_BASE

    resume_after_hours: float = Field(default=72, gt=0)
    expire_after_days: float = Field(default=30, gt=0)
    max_misses: int = Field(default=3, ge=1, le=10)

    # WeChat webhook: answer within the budget (WeChat gives up at 5 s and redelivers),
    # else "success" now and the reply through the outbox.
    wechat_reply_budget_s: float = Field(default=4.0, gt=0, lt=5)
    wechat_replay_window_s: int = Field(default=300, ge=1)
    wechat_max_body: int = Field(default=65536, ge=1024)
    wechat_api_base: str = "https://api.weixin.qq.com"

    # Outbox worker (`huifang worker`; inside the web process on SQLite, see bot/dispatch).
    worker_poll_s: float = Field(default=1.0, gt=0, le=60)
    worker_batch: int = Field(default=50, ge=1, le=1000)
    worker_concurrency: int = Field(default=8, ge=1, le=100)  # recipients served at once
    outbox_max_attempts: int = Field(default=6, ge=1, le=20)
    # A row "sending" this long belongs to a dead worker and is taken again; keep it well
    # above wechat_api_timeout_s × 4 (token fetch, send, refresh, resend).
    outbox_stale_after_s: float = Field(default=300, ge=30)
    in_process_worker: bool | None = None  # None: on with SQLite, off with PostgreSQL

    # Due jobs (session expiry now; reminders, SLA checks, follow-ups later), run by the same
    # worker next to the outbox (bot/dispatch/scheduler.py).
    scheduler_poll_s: float = Field(default=5.0, gt=0, le=300)
    scheduler_batch: int = Field(default=50, ge=1, le=1000)
    # A job "running" this long belongs to a dead worker and is run again.
    job_stale_after_s: float = Field(default=300, ge=30)
    job_max_attempts: int = Field(default=5, ge=1, le=20)
    # How often open surveys idle past HUIFANG_EXPIRE_AFTER_DAYS are ended.
    expire_sweep_every_s: float = Field(default=600, ge=10)
    # Tickets: the service levels of the "default" queue an organisation without queues gets
    # on first use (`huifang queues add` sets others), and how often SLA breaches are checked.
    ticket_first_response_minutes: int = Field(default=240, ge=1)
    ticket_resolution_minutes: int = Field(default=2880, ge=1)  # two days
    ticket_sla_every_s: float = Field(default=300, ge=10)
    # Office hours for those service levels (bot/services/working_time.py): "08:30-17:30"
    # makes the minutes above working minutes on working days (ISO weekdays "1-5"), with
    # public holidays off and 调休 weekend days worked (dates or ranges, comma-separated:
    # "2026-10-01..2026-10-07"). Empty: round the clock.
    ticket_working_hours: str = ""
    ticket_working_days: str = "1-5"
    ticket_holidays: str = ""
    ticket_extra_workdays: str = ""
    # How often running campaigns send their due invitations and reminders; at most once a
    # minute, as `per_minute` counts per clock minute (sooner after a campaign starts).
    campaign_tick_every_s: float = Field(default=60, ge=5, le=60)
    # After a ticket is resolved the respondent is asked whether it is solved; no answer in
    # this time brings one reminder, and no answer in as long again leaves it unconfirmed.
    ticket_confirm_after_hours: float = Field(default=48, gt=0, le=24 * 30)
    wechat_rate_per_s: float = Field(default=20, gt=0, le=1000)  # API calls per account
    wechat_api_timeout_s: float = Field(default=5.0, gt=0, le=60)

    # Telling staff of new, reopened and overdue tickets: one digest per person per interval,
    # by WeCom application message or e-mail, as each staff member chose (notify_via).
    # The console's address as staff reach it (https://huifang.example.org): digests link to
    # each ticket there when set.
    public_url: str | None = None
    staff_digest_every_s: float = Field(default=600, ge=60)
    staff_digest_batch: int = Field(default=20, ge=1, le=500)  # people per run (sent in one transaction)
    staff_notify_max_attempts: int = Field(default=5, ge=1, le=50)  # failed digests before a notice is given up
    staff_notify_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # WeCom (企业微信): the corp id, the application's AgentId and Secret (应用管理 → 自建应用).
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    # E-mail. STARTTLS on port 587 by default; HUIFANG_SMTP_USE_TLS=true with port 465 for
    # servers that speak TLS from the start (Tencent exmail, NetEase).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_use_tls: bool = False
    smtp_from: str | None = None  # e.g. "红十字会回访 <huifang@example.org>"; default smtp_user

    # The browser chat simulator and the OpenAPI pages (/docs, /redoc, /openapi.json) are for
    # a demo on one's own machine: None means on with SQLite, off (404) with PostgreSQL,
    # where anyone who reaches the server could otherwise chat or map the API.
    simulator_enabled: bool | None = None
    api_docs_enabled: bool | None = None
    # Requests per client address per window to /simulator/api/*, counted in memory.
    simulator_rate_limit: int = Field(default=30, ge=1, le=10000)
    simulator_rate_window_s: float = Field(default=10, gt=0, le=3600)
    # Failed staff logins per client address per window, counted in each process's memory;
    # past it the address waits (429). Each account also locks after its own failures
    # (staff_policy), which this keeps one address from doing to every account at once.
    login_rate_limit: int = Field(default=20, ge=1, le=10000)
    login_rate_window_s: float = Field(default=600, gt=0, le=86400)
    # Signs the simulator's visitor cookie. None: a random key per process, enough for one
    # process (a restart only means pressing 开始 again); give one key to all processes
    # when the simulator is enabled behind several workers.
    simulator_secret: SecretStr | None = None

    # Staff console (admin/): after `staff_lockout_after` wrong passwords in a row an account
    # is locked for `staff_lockout_first_s`, doubled by each further failure up to
    # `staff_lockout_max_s`. A browser's session ends after `staff_cookie_idle_hours` unused
    # and `staff_cookie_max_hours` after the login; an API bearer token after `staff_bearer_days`.
    staff_lockout_after: int = Field(default=5, ge=1, le=100)
    staff_lockout_first_s: float = Field(default=60, gt=0)
    staff_lockout_max_s: float = Field(default=3600, gt=0)
    staff_cookie_idle_hours: float = Field(default=12, gt=0)
    staff_cookie_max_hours: float = Field(default=168, gt=0)
    staff_bearer_days: float = Field(default=30, gt=0)
    # Behind a reverse proxy that terminates HTTPS and is the only way in: believe its
    # X-Forwarded-Proto (console cookies then get Secure). Off, a client could claim https.
    # (uvicorn already believes it from 127.0.0.1, its default --forwarded-allow-ips.)
    trust_proxy_headers: bool = False

    @property
    def staff_policy(self) -> StaffPolicy:
        from bot.services.staff import StaffPolicy

        return StaffPolicy(
            lockout_after=self.staff_lockout_after,
            lockout_first=timedelta(seconds=self.staff_lockout_first_s),
            lockout_max=timedelta(seconds=max(self.staff_lockout_max_s, self.staff_lockout_first_s)),
            cookie_idle=timedelta(hours=self.staff_cookie_idle_hours),
            cookie_max=timedelta(hours=max(self.staff_cookie_max_hours, self.staff_cookie_idle_hours)),
            bearer_ttl=timedelta(days=self.staff_bearer_days),
        )

    @property
    def embedded(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def simulator_on(self) -> bool:
        return self.embedded if self.simulator_enabled is None else self.simulator_enabled

    @property
    def api_docs_on(self) -> bool:
        return self.embedded if self.api_docs_enabled is None else self.api_docs_enabled

    @property
    def secret_keys(self) -> list[str]:
        """HUIFANG_SECRET_KEY's keys, first (encrypting) key first; for storage.secrets.SecretBox."""
        return parse_keys(self.secret_key.get_secret_value() if self.secret_key else None)

    @property
    def tickets(self) -> TicketConfig:
        return TicketConfig(
            first_response=timedelta(minutes=self.ticket_first_response_minutes),
            resolution=timedelta(minutes=self.ticket_resolution_minutes),
            sla_every=timedelta(seconds=self.ticket_sla_every_s),
            confirm_after=timedelta(hours=self.ticket_confirm_after_hours),
            working_time=self.working_time,
        )

    @property
    def working_time(self) -> WorkingTime:
        return parse_working_time(
            self.ticket_working_hours, self.ticket_working_days, self.ticket_holidays, self.ticket_extra_workdays
        )

    @model_validator(mode="after")
    def _working_time_is_readable(self) -> Settings:
        try:
            self.working_time  # noqa: B018 - parsed now, so a bad value stops the start with its reason
        except WorkingTimeError as error:
            raise ValueError(f"HUIFANG_TICKET_WORKING_*: {error}") from None
        return self

    @property
    def engine(self) -> EngineConfig:
        return EngineConfig(
            resume_after=timedelta(hours=self.resume_after_hours),
            expire_after=timedelta(days=self.expire_after_days),
            max_misses=self.max_misses,
        )
