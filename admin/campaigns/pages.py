"""The console's campaign pages: /console/campaigns (the list, and for admins the form to
create one) and /console/campaigns/{id} (its settings, live progress — polled by
admin/static/campaign.js from the progress API — and the moves its status allows)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from admin.auth.deps import AppContainer, ConsoleAdmin, ConsoleStaff, DbSession
from admin.campaigns.api import perform
from admin.campaigns.schemas import ProgressRead
from admin.pages import render
from bot.services import campaigns
from bot.services.campaigns import CampaignDraft, CampaignError, CampaignNotFound
from bot.services.organisations import list_organisations
from bot.services.staff import StaffPrincipal

STATUS = {
    "draft": ("草稿", "Draft"),
    "running": ("进行中", "Running"),
    "paused": ("已暂停", "Paused"),
    "finished": ("已结束", "Finished"),
}
MOVES = {
    "start": ("开始", "Start"),
    "pause": ("暂停", "Pause"),
    "resume": ("继续", "Resume"),
    "finish": ("结束", "Finish"),
}


def _list_of(text: str) -> list[str]:
    for sep in "，、;；|\n":
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def _date(value: str, end: bool, zone: str) -> datetime | None:
    """A form's date (YYYY-MM-DD) as the start of that day, or the end for `end`, locally."""
    if not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
        tz = ZoneInfo(zone)
    except (ValueError, KeyError):
        raise CampaignError(f"日期格式应为 YYYY-MM-DD dates are YYYY-MM-DD: {value!r}") from None
    moment = datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=tz)
    return moment


def _whole(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise CampaignError(f"{name}须为整数 must be a whole number: {value!r}") from None


async def _list_page(
    request: Request, s: AsyncSession, me: StaffPrincipal, *, error: str | None = None,
    form: dict[str, str] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render(
        request, "campaigns/list.html", me=me, items=await campaigns.list_campaigns(s, me.scope),
        flows=await campaigns.campaign_flows(s, me.scope) if me.is_admin else [],
        organisations=await list_organisations(s, scope=me.scope) if me.is_admin else [],
        error=error, form=form or {}, STATUS=STATUS, status_code=status_code,
    )  # fmt: skip


def campaigns_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/campaigns", response_class=HTMLResponse)
    async def campaign_list(request: Request, me: ConsoleStaff, s: DbSession) -> HTMLResponse:
        return await _list_page(request, s, me)

    @router.post("/campaigns", response_model=None)
    async def create(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        container: AppContainer,
        name: Annotated[str, Form(max_length=200)] = "",
        flow: Annotated[str, Form(max_length=64)] = "",
        categories: Annotated[str, Form(max_length=2000)] = "",
        organisations: Annotated[str, Form(max_length=2000)] = "",
        tags: Annotated[str, Form(max_length=2000)] = "",
        not_surveyed_days: Annotated[str, Form(max_length=10)] = "0",
        starts_on: Annotated[str, Form(max_length=10)] = "",
        ends_on: Annotated[str, Form(max_length=10)] = "",
        send_from: Annotated[str, Form(max_length=5)] = "08:00",
        send_until: Annotated[str, Form(max_length=5)] = "21:00",
        per_minute: Annotated[str, Form(max_length=10)] = "60",
        remind_after_days: Annotated[str, Form(max_length=10)] = "3",
        max_reminders: Annotated[str, Form(max_length=10)] = "1",
        cooldown_days: Annotated[str, Form(max_length=10)] = "90",
    ) -> HTMLResponse | RedirectResponse:
        form = {
            "name": name, "flow": flow, "categories": categories, "organisations": organisations, "tags": tags,
            "not_surveyed_days": not_surveyed_days, "starts_on": starts_on, "ends_on": ends_on,
            "send_from": send_from, "send_until": send_until, "per_minute": per_minute,
            "remind_after_days": remind_after_days, "max_reminders": max_reminders, "cooldown_days": cooldown_days,
        }  # fmt: skip
        try:
            draft = CampaignDraft(
                name=name, flow=flow, categories=_list_of(categories), organisations=_list_of(organisations),
                tags=_list_of(tags), not_surveyed_days=_whole(not_surveyed_days, "未回访天数 not surveyed days "),
                starts_at=_date(starts_on, False, "Asia/Shanghai"), ends_at=_date(ends_on, True, "Asia/Shanghai"),
                send_from=send_from.strip(), send_until=send_until.strip(),
                per_minute=_whole(per_minute, "每分钟 per minute "),
                remind_after_days=_whole(remind_after_days, "提醒间隔 remind after "),
                max_reminders=_whole(max_reminders, "提醒次数 reminders "),
                cooldown_days=_whole(cooldown_days, "冷却天数 cooldown "),
            )  # fmt: skip
            view = await campaigns.create_campaign(s, me, draft, now=container.clock())
        except CampaignError as error:
            return await _list_page(request, s, me, error=str(error), form=form, status_code=422)
        return RedirectResponse(f"/console/campaigns/{view.id}", status_code=303)

    @router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
    async def campaign_page(request: Request, campaign_id: int, me: ConsoleStaff, s: DbSession) -> HTMLResponse:
        return await _detail(request, s, me, campaign_id)

    @router.post("/campaigns/{campaign_id}/{move}", response_model=None)
    async def move(
        request: Request, campaign_id: int, move: str, me: ConsoleAdmin, s: DbSession, container: AppContainer
    ) -> HTMLResponse | RedirectResponse:
        if move not in MOVES:
            return render(request, "error.html", me=me, message="没有这个操作 no such action", status_code=404)
        try:
            await perform(s, me, campaign_id, move, container)
        except HTTPException as error:
            if error.status_code == 404:
                return render(request, "error.html", me=me, message=str(error.detail), status_code=404)
            return await _detail(request, s, me, campaign_id, error=str(error.detail), status_code=error.status_code)
        return RedirectResponse(f"/console/campaigns/{campaign_id}", status_code=303)

    return router


async def _detail(
    request: Request, s: AsyncSession, me: StaffPrincipal, campaign_id: int, *, error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    try:
        view = await campaigns.get_campaign(s, me.scope, campaign_id)
        progress = ProgressRead.of(await campaigns.campaign_progress(s, me.scope, campaign_id))
    except CampaignNotFound as missing:
        return render(request, "error.html", me=me, message=str(missing), status_code=404)
    return render(
        request, "campaigns/detail.html", me=me, c=view, p=progress, error=error, STATUS=STATUS, MOVES=MOVES,
        status_code=status_code,
    )  # fmt: skip
