"""What /api/v1/campaigns takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.services.campaigns import CampaignView, Progress


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    flow: str = Field(max_length=64, description="the survey flow's id")
    organisation: str | None = Field(None, max_length=64, description="default: the caller's organisation")
    categories: list[str] = Field(default_factory=list, max_length=100)
    organisations: list[str] = Field(default_factory=list, max_length=100, description="codes under the campaign's")
    tags: list[str] = Field(default_factory=list, max_length=100)
    not_surveyed_days: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    send_from: str = Field("08:00", max_length=5)
    send_until: str = Field("21:00", max_length=5)
    timezone: str = Field("Asia/Shanghai", max_length=64)
    per_minute: int = 60
    remind_after_days: int = 3
    max_reminders: int = 1
    cooldown_days: int = 90


class CampaignRead(BaseModel):
    id: int
    name: str
    status: str
    organisation: str
    organisation_name: str
    flow: str
    segment: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    send_from: str
    send_until: str
    timezone: str
    per_minute: int
    remind_after_days: int
    max_reminders: int
    cooldown_days: int
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    actions: list[str]
    selected: int | None = None  # on start: how many members the segment gave

    @classmethod
    def of(cls, v: CampaignView, selected: int | None = None) -> CampaignRead:
        return cls(
            id=v.id, name=v.name, status=v.status, organisation=v.organisation_code,
            organisation_name=v.organisation_name, flow=v.flow, segment=v.segment, starts_at=v.starts_at,
            ends_at=v.ends_at, send_from=v.send_from, send_until=v.send_until, timezone=v.timezone,
            per_minute=v.per_minute, remind_after_days=v.remind_after_days, max_reminders=v.max_reminders,
            cooldown_days=v.cooldown_days, created_by=v.created_by, created_at=v.created_at,
            started_at=v.started_at, finished_at=v.finished_at, actions=list(v.actions), selected=selected,
        )  # fmt: skip


class CampaignList(BaseModel):
    items: list[CampaignRead]


class UnreachableCount(BaseModel):
    reason: str
    count: int


class ProgressRead(BaseModel):
    total: int
    queued: int
    invited: int
    reached: int
    started: int
    completed: int
    declined: int
    opted_out: int
    unreachable: int
    unreachable_reasons: list[UnreachableCount]
    by_status: dict[str, int]

    @classmethod
    def of(cls, p: Progress) -> ProgressRead:
        return cls(
            total=p.total, queued=p.by_status.get("queued", 0), invited=p.invited, reached=p.reached,
            started=p.started, completed=p.completed, declined=p.declined, opted_out=p.opted_out,
            unreachable=sum(p.unreachable.values()),
            unreachable_reasons=[UnreachableCount(reason=r, count=n) for r, n in sorted(p.unreachable.items())],
            by_status=p.by_status,
        )  # fmt: skip
