"""Campaigns: a survey flow sent to a segment of respondents within a window.

draft → running ⇄ paused → finished. Creating checks everything up front (zh + en errors,
nothing stored when one is wrong); starting selects the members (one INSERT … SELECT,
storage/repositories/campaigns.py) as "queued"; the `campaign_tick` job
(bot/services/jobs/campaign_tick.py) then invites them through the outbox inside the
send window, at most `per_minute` per channel account. Every change is in the audit log, in
the transaction that made it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import record_admin_action
from bot.services.catalog import category_words
from bot.services.organisations import organisation_in_scope
from bot.services.staff import StaffPrincipal
from flows.normalize import normalize
from storage.models import Campaign, Flow, Organisation
from storage.repositories.campaigns import CampaignRepository, Progress, Segment
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import OrganisationRepository, Scope

__all__ = [
    "CampaignDraft",
    "CampaignError",
    "CampaignNotFound",
    "CampaignStateError",
    "CampaignView",
    "Progress",
    "campaign_flows",
    "campaign_progress",
    "create_campaign",
    "finish_campaign",
    "get_campaign",
    "in_send_window",
    "list_campaigns",
    "pause_campaign",
    "resume_campaign",
    "start_campaign",
]

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_TAGS = 20
MAX_DAYS = 3650
MAX_PER_MINUTE = 10_000
MAX_REMINDERS = 10


class CampaignError(ValueError):
    """Refused, with a message for people (Chinese, then English); nothing was changed."""


class CampaignStateError(CampaignError):
    """The campaign's status does not allow this move (e.g. resuming a finished one)."""


class CampaignNotFound(LookupError):
    """No such campaign in the caller's organisations."""


NOT_FOUND = "没有这个活动 no such campaign"
ADMINS_ONLY = "只有管理员可以管理活动 only admins manage campaigns"


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    """What an admin fills in. Empty lists mean "any"."""

    name: str
    flow: str  # the flow's id (code)
    organisation: str | None = None  # default: the admin's own
    categories: Sequence[str] = ()
    organisations: Sequence[str] = ()
    tags: Sequence[str] = ()
    not_surveyed_days: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    send_from: str = "08:00"
    send_until: str = "21:00"
    timezone: str = "Asia/Shanghai"
    per_minute: int = 60
    remind_after_days: int = 3
    max_reminders: int = 1
    cooldown_days: int = 90


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    name: str
    status: str
    organisation_code: str
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
    actions: tuple[str, ...] = field(default=())  # the moves its status allows


# status → the moves allowed from it, and where each leads
_MOVES: dict[str, dict[str, str]] = {
    "draft": {"start": "running", "finish": "finished"},
    "running": {"pause": "paused", "finish": "finished"},
    "paused": {"resume": "running", "finish": "finished"},
    "finished": {},
}
_STATUS_NAMES = {
    "draft": "草稿 draft",
    "running": "进行中 running",
    "paused": "已暂停 paused",
    "finished": "已结束 finished",
}


def in_send_window(campaign: Campaign, now: datetime) -> bool:
    """Whether invitations may go out at `now`: inside the campaign's dates and its daily
    hours (send_from ≤ local time < send_until, in its time zone)."""
    if campaign.starts_at is not None and now < campaign.starts_at:
        return False
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return False
    local = now.astimezone(ZoneInfo(campaign.timezone)).time()
    return _hhmm(campaign.send_from) <= local < _hhmm(campaign.send_until)


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


# --- creating -----------------------------------------------------------------------------


def _whole(value: object, name: tuple[str, str], low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CampaignError(
            f"{name[0]}必须是 {low}–{high} 之间的整数 {name[1]} must be a whole number from {low} to {high}"
        )
    return value


def _codes(values: Sequence[str], what: tuple[str, str]) -> list[str]:
    cleaned = sorted({v.strip() for v in values if isinstance(v, str) and v.strip()})
    if len(cleaned) > 100:
        raise CampaignError(f"{what[0]}最多 100 个 at most 100 {what[1]}")
    return cleaned


async def _categories(s: AsyncSession, wanted: list[str], visible: Sequence[Any]) -> list[str]:
    """Category codes for what was typed: a code, or a category's name or alias in Chinese
    or English (人道救助, 受助者, Volunteers); unknown ones are refused with the choices."""
    known = set(await s.scalars(select(Flow.category).distinct()))
    named = category_words(visible)
    by_code = {normalize(code): code for code in known}
    codes = [named.code_of(w) if named.code_of(w) in known else by_code.get(normalize(w)) for w in wanted]
    unknown = [w for w, code in zip(wanted, codes, strict=True) if code is None]
    if unknown:
        shown = sorted((code, name) for code, name in named.names.items() if code in known)
        choices = "、".join(f"{name} {code}" for code, name in shown)
        raise CampaignError(f"未知的类别 unknown categories: {', '.join(unknown)}；可用 valid: {choices}")
    return sorted({code for code in codes if code is not None})


async def _check_draft(
    s: AsyncSession, me: StaffPrincipal, draft: CampaignDraft
) -> tuple[Organisation, Flow, dict[str, Any]]:
    name = draft.name.strip() if isinstance(draft.name, str) else ""
    if not name or len(name) > 200:
        raise CampaignError("活动名称必填（最多200字） a campaign needs a name (at most 200 characters)")
    code = (draft.organisation or me.organisation_code).strip()
    organisation = await organisation_in_scope(s, code, me.scope)
    if organisation is None:
        raise CampaignError(f"未知的机构 unknown organisation: {code}")
    flow = await s.scalar(select(Flow).where(Flow.code == draft.flow.strip()))
    visible = {v.flow_id: v for v in await FlowRepository(s).list_latest(visible_to=Scope.of(organisation))}
    if flow is None or flow.id not in visible:
        raise CampaignError(f"没有这个流程 no such flow: {draft.flow}")
    if visible[flow.id].definition.get("kind", "survey") != "survey":
        raise CampaignError(f"活动只能使用问卷流程 a campaign sends a survey flow, and {flow.code} is not one")

    categories = await _categories(s, _codes(draft.categories, ("类别", "categories")), list(visible.values()))
    # None named: the people the flow was written for, not everyone of every category.
    categories = categories or [flow.category]
    org_codes = _codes(draft.organisations, ("机构", "organisations"))
    paths = []
    for org_code in org_codes:
        chosen = await organisation_in_scope(s, org_code, Scope.of(organisation))
        if chosen is None:
            raise CampaignError(f"机构不在本活动机构之下 not an organisation under the campaign's: {org_code}")
        paths.append(chosen.path)
    tags = _codes(draft.tags, ("标签", "tags"))
    if len(tags) > MAX_TAGS or any(len(t) > 50 for t in tags):
        raise CampaignError(f"标签最多 {MAX_TAGS} 个，每个最多50字 at most {MAX_TAGS} tags of 50 characters")

    _whole(draft.not_surveyed_days, ("未回访天数", "not surveyed days"), 0, MAX_DAYS)
    _whole(draft.per_minute, ("每分钟发送数", "per minute"), 1, MAX_PER_MINUTE)
    _whole(draft.remind_after_days, ("提醒间隔天数", "remind after days"), 1, 365)
    _whole(draft.max_reminders, ("最多提醒次数", "max reminders"), 0, MAX_REMINDERS)
    _whole(draft.cooldown_days, ("冷却天数", "cooldown days"), 0, MAX_DAYS)
    for value in (draft.send_from, draft.send_until):
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            raise CampaignError(f"时间格式应为 HH:MM times are HH:MM (00:00–23:59): {value!r}")
    if draft.send_from >= draft.send_until:
        raise CampaignError("发送开始时间须早于结束时间 send_from must be before send_until")
    try:
        ZoneInfo(draft.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(f"未知的时区 unknown time zone: {draft.timezone!r}") from None
    for moment in (draft.starts_at, draft.ends_at):
        if moment is not None and moment.tzinfo is None:
            raise CampaignError("日期须带时区 dates need a time zone")
    if draft.starts_at is not None and draft.ends_at is not None and draft.starts_at >= draft.ends_at:
        raise CampaignError("开始日期须早于结束日期 the window must start before it ends")
    segment = {
        "categories": categories,
        "organisations": org_codes,
        "organisation_paths": paths,
        "tags": tags,
        "not_surveyed_days": draft.not_surveyed_days,
    }
    return organisation, flow, segment


async def create_campaign(s: AsyncSession, me: StaffPrincipal, draft: CampaignDraft, *, now: datetime) -> CampaignView:
    _admin(me)
    organisation, flow, segment = await _check_draft(s, me, draft)
    campaign = await CampaignRepository(s).create(
        organisation_id=organisation.id, name=draft.name.strip(), flow_id=flow.id, segment=segment,
        starts_at=draft.starts_at, ends_at=draft.ends_at, send_from=draft.send_from, send_until=draft.send_until,
        timezone=draft.timezone, per_minute=draft.per_minute, remind_after_days=draft.remind_after_days,
        max_reminders=draft.max_reminders, cooldown_days=draft.cooldown_days, status="draft",
        created_by=me.username, created_at=now, updated_at=now,
    )  # fmt: skip
    await record_admin_action(
        s, actor=me, action="campaign_created", subject_type="campaign", subject_id=campaign.id,
        data={"name": campaign.name, "flow": flow.code, "campaign_organisation": organisation.code,
              "segment": {k: v for k, v in segment.items() if k != "organisation_paths"}},
        now=now,
    )  # fmt: skip
    return await _view(s, campaign)


# --- moving -------------------------------------------------------------------------------


def _admin(me: StaffPrincipal) -> None:
    if not me.is_admin:
        raise CampaignError(ADMINS_ONLY)


async def _move(s: AsyncSession, me: StaffPrincipal, campaign_id: int, move: str, *, now: datetime) -> Campaign:
    _admin(me)
    campaign = await CampaignRepository(s).get(campaign_id, scope=me.scope, lock=True)
    if campaign is None:
        raise CampaignNotFound(NOT_FOUND)
    target = _MOVES[campaign.status].get(move)
    if target is None:
        raise CampaignStateError(
            f"活动{_STATUS_NAMES[campaign.status].split()[0]}，不能{_MOVE_NAMES[move][0]}"
            f" a {campaign.status} campaign cannot be {_MOVE_NAMES[move][1]}"
        )
    campaign.status = target
    campaign.updated_at = now
    if move == "start":
        campaign.started_at = now
    if move == "finish":
        campaign.finished_at = now
    await s.flush()
    return campaign


_MOVE_NAMES = {
    "start": ("开始", "started"),
    "pause": ("暂停", "paused"),
    "resume": ("继续", "resumed"),
    "finish": ("结束", "finished"),
}


async def start_campaign(
    s: AsyncSession, me: StaffPrincipal, campaign_id: int, *, now: datetime
) -> tuple[CampaignView, int]:
    """Running, with its members selected ("queued", due now); (the campaign, how many)."""
    campaign = await _move(s, me, campaign_id, "start", now=now)
    organisation = await OrganisationRepository(s).get(campaign.organisation_id)
    assert organisation is not None  # a foreign key
    seg = campaign.segment
    segment = Segment(
        organisation_path=organisation.path,
        organisation_paths=tuple(seg.get("organisation_paths", ())),
        categories=tuple(seg.get("categories", ())),
        tags=tuple(seg.get("tags", ())),
        not_surveyed_days=int(seg.get("not_surveyed_days", 0)),
    )
    selected = await CampaignRepository(s).select_members(campaign, segment, now=now)
    await _audit(s, me, campaign, "campaign_started", now, selected=selected)
    return await _view(s, campaign), selected


async def pause_campaign(s: AsyncSession, me: StaffPrincipal, campaign_id: int, *, now: datetime) -> CampaignView:
    campaign = await _move(s, me, campaign_id, "pause", now=now)
    await _audit(s, me, campaign, "campaign_paused", now)
    return await _view(s, campaign)


async def resume_campaign(s: AsyncSession, me: StaffPrincipal, campaign_id: int, *, now: datetime) -> CampaignView:
    campaign = await _move(s, me, campaign_id, "resume", now=now)
    await _audit(s, me, campaign, "campaign_resumed", now)
    return await _view(s, campaign)


async def finish_campaign(s: AsyncSession, me: StaffPrincipal, campaign_id: int, *, now: datetime) -> CampaignView:
    """Nothing more is sent; members keep where they got to (a survey under way can
    still be completed)."""
    campaign = await _move(s, me, campaign_id, "finish", now=now)
    await _audit(s, me, campaign, "campaign_finished", now)
    return await _view(s, campaign)


async def _audit(s: AsyncSession, me: StaffPrincipal, c: Campaign, action: str, now: datetime, **data: Any) -> None:
    await record_admin_action(
        s, actor=me, action=action, subject_type="campaign", subject_id=c.id, data={"name": c.name, **data}, now=now
    )


# --- reading ------------------------------------------------------------------------------


async def list_campaigns(s: AsyncSession, scope: Scope) -> list[CampaignView]:
    return [await _view(s, c) for c in await CampaignRepository(s).in_scope(scope)]


async def running_campaigns(s: AsyncSession, scope: Scope) -> int:
    """How many campaigns of `scope` are sending now, for the home page."""
    return await CampaignRepository(s).count_running(scope)


async def get_campaign(s: AsyncSession, scope: Scope, campaign_id: int) -> CampaignView:
    campaign = await CampaignRepository(s).get(campaign_id, scope=scope)
    if campaign is None:
        raise CampaignNotFound(NOT_FOUND)
    return await _view(s, campaign)


async def campaign_progress(s: AsyncSession, scope: Scope, campaign_id: int) -> Progress:
    if await CampaignRepository(s).get(campaign_id, scope=scope) is None:
        raise CampaignNotFound(NOT_FOUND)
    return await CampaignRepository(s).progress(campaign_id)


async def _view(s: AsyncSession, c: Campaign) -> CampaignView:
    organisation = await s.get(Organisation, c.organisation_id)
    flow = await s.get(Flow, c.flow_id)
    assert organisation is not None and flow is not None  # foreign keys
    return CampaignView(
        id=c.id, name=c.name, status=c.status, organisation_code=organisation.code,
        organisation_name=organisation.name, flow=flow.code,
        segment={k: v for k, v in c.segment.items() if k != "organisation_paths"},
        starts_at=c.starts_at, ends_at=c.ends_at, send_from=c.send_from, send_until=c.send_until,
        timezone=c.timezone, per_minute=c.per_minute, remind_after_days=c.remind_after_days,
        max_reminders=c.max_reminders, cooldown_days=c.cooldown_days, created_by=c.created_by,
        created_at=c.created_at, started_at=c.started_at, finished_at=c.finished_at,
        actions=tuple(_MOVES[c.status]),
    )  # fmt: skip


async def campaign_flows(s: AsyncSession, scope: Scope) -> list[tuple[str, str]]:
    """(id, Chinese title) of the survey flows a campaign of `scope` may send."""
    return [
        (v.definition.get("id", ""), str(v.definition.get("title", {}).get("zh", "")))
        for v in await FlowRepository(s).list_latest(visible_to=scope)
        if v.definition.get("kind", "survey") == "survey"
    ]
