"""All configuration in one place, from HUIFANG_* environment variables (secrets only there)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.engine import EngineConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUIFANG_", extra="ignore")

    # Embedded default: one SQLite file beside where it is started, no server needed.
    database_url: str = "sqlite+aiosqlite:///./huifang.db"
    redis_url: str | None = None
    auto_migrate: bool = True  # production runs `huifang db upgrade` once instead
    publish_default_flows: bool = True
    extra_flows_dir: Path | None = None

    host: str = "127.0.0.1"
    port: int = 8000

    resume_after_hours: float = Field(default=72, gt=0)
    expire_after_days: float = Field(default=30, gt=0)
    max_misses: int = Field(default=3, ge=1, le=10)

    # WeChat webhook: answer within the budget (WeChat gives up at 5 s and redelivers),
    # else "success" now and the reply through the outbox.
    wechat_reply_budget_s: float = Field(default=4.0, gt=0, lt=5)
    wechat_replay_window_s: int = Field(default=300, ge=1)
    wechat_max_body: int = Field(default=65536, ge=1024)
    wechat_api_base: str = "https://api.weixin.qq.com"

    @property
    def engine(self) -> EngineConfig:
        return EngineConfig(
            resume_after=timedelta(hours=self.resume_after_hours),
            expire_after=timedelta(days=self.expire_after_days),
            max_misses=self.max_misses,
        )
