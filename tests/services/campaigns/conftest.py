"""A campaign world on a real database (SQLite and PostgreSQL): 成都 (city) → 锦江, 武侯;
the small two-question flow `campaign_check`; WeChat respondents; an admin acting; and the
scheduler driven by a fixed clock (`Campaigns.tick(at)`), as `huifang worker` drives it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from bot.dispatch.scheduler import JobStats, run_due_jobs_once
from bot.services import campaigns
from bot.services.catalog import FlowCache
from bot.services.flows import publish_files
from bot.services.jobs import JobConfig, campaign_tick
from bot.services.organisations import add_organisation
from bot.services.staff import StaffPrincipal
from flows.engine import DEFAULT_CONFIG
from storage.db import Database
from storage.models import CampaignMember, Organisation, OutboxMessage
from storage.repositories.respondents import RespondentRepository

FLOW = Path(__file__).resolve().parent / "campaign_check.yaml"
HUMANITARIAN = Path(__file__).resolve().parents[3] / "flows" / "defaults" / "humanitarian_aid.yaml"
T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def shanghai(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """June `day`, 2026, hh:mm:ss Asia/Shanghai, as UTC."""
    return datetime(2026, 6, day, hh, mm, ss, tzinfo=UTC) - timedelta(hours=8)


@dataclass
class Campaigns:
    db: Database
    orgs: dict[str, Organisation]
    flows: FlowCache = field(default_factory=FlowCache)
    _serial: Any = field(default_factory=lambda: itertools.count(1))

    def admin(self, org: str = "chengdu") -> StaffPrincipal:
        o = self.orgs[org]
        return StaffPrincipal(
            id=1, username=f"admin-{org}", name="王管理", role="admin", organisation_id=o.id,
            organisation_code=o.code, organisation_name=o.name, organisation_path=o.path,
            session_id=1, session_kind="bearer", csrf_token=None,
        )  # fmt: skip

    async def person(
        self, org: str | None = "jinjiang", *, channel: str | None = "wechat", account: str = "main",
        category: str = "campaign_check", tags: list[str] | None = None, is_test: bool = False,
        opted_out: bool = False,
    ) -> int:  # fmt: skip
        n = next(self._serial)
        async with self.db.transaction() as s:
            people = RespondentRepository(s)
            p = await people.create(
                category=category, name=f"受访者{n}", organisation_id=self.orgs[org].id if org else None, is_test=is_test,
                at=T0 - timedelta(days=400),
            )  # fmt: skip
            p.tags = tags
            if opted_out:
                p.opted_out_at = T0 - timedelta(days=1)
            if channel is not None:
                await people.add_identity(p, channel=channel, account=account, external_id=f"o-{n}", at=T0)
            return p.id

    async def create(self, **fields: Any) -> int:
        draft = campaigns.CampaignDraft(**{"name": "2026 夏季回访", "flow": "campaign_check", "cooldown_days": 0,
                                           **fields})  # fmt: skip
        async with self.db.transaction() as s:
            view = await campaigns.create_campaign(s, self.admin(), draft, now=T0)
            return view.id

    async def start(self, campaign_id: int, at: datetime = T0) -> int:
        async with self.db.transaction() as s:
            return (await campaigns.start_campaign(s, self.admin(), campaign_id, now=at))[1]

    async def move(self, move: str, campaign_id: int, at: datetime) -> None:
        fn = {"pause": campaigns.pause_campaign, "resume": campaigns.resume_campaign,
              "finish": campaigns.finish_campaign}[move]  # fmt: skip
        async with self.db.transaction() as s:
            await fn(s, self.admin(), campaign_id, now=at)

    def config(self, every: timedelta = campaign_tick.EVERY) -> JobConfig:
        return JobConfig(
            engine=DEFAULT_CONFIG, flows=self.flows, expire_sweep_every=timedelta(minutes=10),
            campaign_tick_every=every,
        )  # fmt: skip

    async def tick(self, at: datetime, every: timedelta = campaign_tick.EVERY) -> JobStats:
        """One scheduler pass at `at`, as the worker makes it (the chain seeded if needed),
        with campaigns looked at `every` (HUIFANG_CAMPAIGN_TICK_EVERY_S)."""
        async with self.db.transaction() as s:
            await campaign_tick.ensure_scheduled(s, now=at, every=every)
        return await run_due_jobs_once(
            self.db, {campaign_tick.KIND: campaign_tick.run}, now=at, batch=10,
            stale_after=timedelta(minutes=5), max_attempts=3, config=self.config(every),
        )  # fmt: skip

    async def outbox(self) -> list[OutboxMessage]:
        async with self.db.transaction() as s:
            return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    async def members(self, campaign_id: int) -> dict[int, CampaignMember]:
        async with self.db.transaction() as s:
            rows = await s.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
            return {m.respondent_id: m for m in rows}


async def campaign_world(db: Database) -> Campaigns:
    async with db.transaction() as s:
        await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="chunxi", name="春熙路服务站", parent="jinjiang", now=T0)
    await publish_files(db, [FLOW, HUMANITARIAN], now=T0 - timedelta(days=500))
    async with db.transaction() as s:
        orgs = {o.code: o for o in await s.scalars(select(Organisation))}
        for o in orgs.values():
            s.expunge(o)
    return Campaigns(db=db, orgs=orgs)


@pytest_asyncio.fixture
async def world(db: Database) -> Campaigns:
    return await campaign_world(db)
