"""`campaign_tick`: once a minute, every running campaign sends what is due.

Per campaign, in this order:
1. what the dispatcher made of earlier invitations: sent → the member is "reached";
   refused (WeChat's 48 h window closed and the account has no template, unsubscribed…)
   → "unreachable" with the dispatcher's reason (`CampaignRepository.record_deliveries`);
2. queued members with no WeChat or Telegram identity → "unreachable", the call list;
3. only inside the send window (campaigns.in_send_window: its dates, and send_from ≤
   local time < send_until in its time zone): per channel account, at most `per_minute`
   due members, oldest due first — an invitation (the survey's session is started for
   them, tied to the campaign, and its first message queued as an outbox "invitation") or
   a reminder (the question they stopped at, again), at most `max_reminders`, each
   `remind_after_days` apart.

One run per slot (a minute, or HUIFANG_CAMPAIGN_TICK_EVERY_S; the slot is in the job's
dedup key, as for `expire_sessions`), and each counts what this clock minute already queued
per account, so `per_minute` holds however often it runs,
a run taken again after a stale claim included. Idempotent as a due job must be: every message carries the
dedup key of (campaign, member, attempt), and each member is read again before it is
acted on. Someone in the middle of another survey is not interrupted: they are looked at
again later, as is someone whose own message is being handled right now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import refusal
from bot.services import respondents, surveys
from bot.services.campaigns import in_send_window
from bot.services.jobs.context import JobContext
from bot.services.jobs.expire_sessions import slot_start
from bot.services.outbound import queue_message
from flows import engine
from flows.schema import Flow as ParsedFlow
from storage.models import Campaign, ChannelIdentity, DueJob, Flow, SurveySession
from storage.models.survey_session import OPEN_STATUSES
from storage.repositories.audit import AuditRepository
from storage.repositories.campaigns import INVITATION, CampaignRepository, DueMember, message_key
from storage.repositories.due_jobs import DueJobRepository
from storage.repositories.flows import FlowRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository

log = logging.getLogger(__name__)

KIND = "campaign_tick"
EVERY = timedelta(minutes=1)
WAIT_FOR_SURVEY = timedelta(minutes=30)  # in another survey: asked after it
WAIT_FOR_TURN = timedelta(minutes=1)  # a message of theirs is being handled right now
NO_CHAT_CHANNEL = "no_chat_channel: 无微信/Telegram no WeChat or Telegram to invite them on"
NO_IDENTITY = "no_chat_channel: 联系方式已删除 their chat identity is gone"
_REMINDER = {"zh": "提醒一下：", "en": "A gentle reminder: "}


def slot_key(start: datetime) -> str:
    return f"{KIND}:{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def ensure_scheduled(s: AsyncSession, *, now: datetime, every: timedelta = EVERY) -> int | None:
    """Start the chain (due now) unless a run is already pending or running."""
    jobs = DueJobRepository(s)
    if await jobs.has_unfinished(KIND):
        return None
    return await jobs.schedule(KIND, {}, now, dedup_key=slot_key(slot_start(now, every)), now=now)


@dataclass
class TickStats:
    reached: int = 0
    unreachable: int = 0
    invited: int = 0
    reminded: int = 0
    later: int = 0


async def run(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    for campaign in await CampaignRepository(s).running():
        try:
            async with s.begin_nested():
                stats = await tick(s, campaign, ctx)
                if campaign.ends_at is not None and ctx.now >= campaign.ends_at:
                    await _finish_at_its_end(s, campaign, ctx.now)
        except Exception:
            # One campaign that cannot run (its flow unpublished since) must not hold up the
            # others; it is tried again, and logged again, next minute.
            log.exception("campaign %s: this minute's work failed", campaign.id)
            continue
        if stats.invited or stats.reminded or stats.unreachable:
            log.info("campaign %s: %s", campaign.id, stats)
    every = ctx.config.campaign_tick_every
    following = slot_start(ctx.now, every) + every
    await DueJobRepository(s).schedule(KIND, {}, following, dedup_key=slot_key(following), now=ctx.now)


async def _finish_at_its_end(s: AsyncSession, campaign: Campaign, now: datetime) -> None:
    """Past its end date a running campaign is finished, as an admin would have done: its
    last deliveries were recorded above, nothing more goes out, and surveys under way can
    still be completed."""
    campaign.status = "finished"
    campaign.finished_at = campaign.updated_at = now
    await AuditRepository(s).record(
        actor="system", action="campaign_finished", subject_type="campaign", subject_id=campaign.id,
        data={"name": campaign.name, "reason": "ends_at", "ends_at": str(campaign.ends_at)}, at=now,
    )  # fmt: skip
    log.info("campaign %s: finished at its end (%s)", campaign.id, campaign.ends_at)


async def tick(s: AsyncSession, campaign: Campaign, ctx: JobContext) -> TickStats:
    """One minute's work of one running campaign (see the module's docstring)."""
    now, repo, stats = ctx.now, CampaignRepository(s), TickStats()
    stats.reached, stats.unreachable = await repo.record_deliveries(campaign.id, now=now)
    stats.unreachable += await repo.mark_without_channel(campaign.id, reason=NO_CHAT_CHANNEL, now=now)
    if not in_send_window(campaign, now):
        return stats
    code = await s.scalar(select(Flow.code).where(Flow.id == campaign.flow_id))
    version = await FlowRepository(s).latest(code or "")
    if version is None:
        raise LookupError(f"campaign {campaign.id}: its flow {code!r} has no published version")
    flow = await ctx.config.flows.load(FlowRepository(s), version.id)
    minute = now.replace(second=0, microsecond=0)
    for channel, account in await repo.due_accounts(campaign.id, now=now):
        used = await repo.written_since(campaign.id, channel=channel, account=account, since=minute)
        for member in await repo.due_members(
            campaign.id, channel=channel, account=account, now=now, limit=campaign.per_minute - used
        ):
            if member.status == "queued":
                await _invite(s, campaign, member, (version.id, flow), ctx, stats)
            else:
                await _remind(s, campaign, member, ctx, stats)
    return stats


async def _identity(s: AsyncSession, member: DueMember) -> ChannelIdentity | None:
    return await s.scalar(
        select(ChannelIdentity)
        .where(
            ChannelIdentity.respondent_id == member.respondent_id,
            ChannelIdentity.channel == member.channel,
            ChannelIdentity.account == member.account,
        )
        .order_by(ChannelIdentity.id.desc())
        .limit(1)
    )


async def _invite(
    s: AsyncSession, campaign: Campaign, member: DueMember, flow: tuple[int, ParsedFlow], ctx: JobContext,
    stats: TickStats,
) -> None:  # fmt: skip
    repo, now = CampaignRepository(s), ctx.now
    respondent = await RespondentRepository(s).get(member.respondent_id)
    identity = await _identity(s, member)
    if respondent is None or identity is None:
        await repo.update_member(member.id, now=now, status="unreachable", reason=NO_IDENTITY, next_action_at=None)
        stats.unreachable += 1
        return
    if respondent.opted_out_at is not None:
        await repo.update_member(member.id, now=now, status="opted_out", opted_out_at=now, next_action_at=None)
        return
    why_not = refusal(respondent)
    if why_not is not None:
        await repo.update_member(member.id, now=now, status="unreachable", reason=why_not, next_action_at=None)
        stats.unreachable += 1
        return
    if not await respondents.try_lock_person(s, respondent):
        await repo.update_member(member.id, now=now, next_action_at=now + WAIT_FOR_TURN)
        stats.later += 1
        return
    if await SessionRepository(s).open_for(respondent.id) is not None:
        # Another survey is under way (their own, or another campaign's): never cut it off.
        await repo.update_member(member.id, now=now, next_action_at=now + WAIT_FOR_SURVEY)
        stats.later += 1
        return
    out = await surveys.start_survey(
        s, respondent, flow, now=now, reason=f"campaign:{campaign.id}", source="campaign",
        tickets=ctx.config.tickets, campaign_id=campaign.id, channel=identity.channel,
    )  # fmt: skip
    session = await SessionRepository(s).open_for(respondent.id)
    await queue_message(
        s, respondent=respondent, channel=identity.channel, account=identity.account,
        external_id=identity.external_id, kind="invitation", text="\n\n".join(m.text for m in out), now=now,
        dedup_key=message_key(campaign.id, member.id, INVITATION),
    )  # fmt: skip
    await repo.update_member(
        member.id, now=now, status="invited", invited_at=now, session_id=session.id if session else None,
        next_action_at=now + timedelta(days=campaign.remind_after_days) if campaign.max_reminders > 0 else None,
    )  # fmt: skip
    stats.invited += 1


async def _remind(s: AsyncSession, campaign: Campaign, member: DueMember, ctx: JobContext, stats: TickStats) -> None:
    repo, now = CampaignRepository(s), ctx.now
    session = await s.get(SurveySession, member.session_id, populate_existing=True) if member.session_id else None
    respondent = await RespondentRepository(s).get(member.respondent_id)
    identity = await _identity(s, member)
    if (
        member.reminders_sent >= campaign.max_reminders
        or session is None
        or session.status not in OPEN_STATUSES
        or respondent is None
        or identity is None
        or refusal(respondent) is not None
    ):
        # Nothing more to remind of: done, ended (the session's events moved the member),
        # or they cannot be sent anything now.
        await repo.update_member(member.id, now=now, next_action_at=None)
        return
    if not await respondents.try_lock_person(s, respondent):
        await repo.update_member(member.id, now=now, next_action_at=now + WAIT_FOR_TURN)
        stats.later += 1
        return
    flow = await ctx.config.flows.load(FlowRepository(s), session.flow_version_id)
    lang = session.state.get("lang", respondent.lang)
    texts = [m.text for m in engine.prompt(flow, session.state).messages]
    attempt = member.reminders_sent + 1
    await queue_message(
        s, respondent=respondent, channel=identity.channel, account=identity.account,
        external_id=identity.external_id, kind="reminder",
        text=_REMINDER.get(lang, _REMINDER["zh"]) + "\n\n".join(texts), now=now,
        dedup_key=message_key(campaign.id, member.id, attempt),
    )  # fmt: skip
    more = attempt < campaign.max_reminders
    await repo.update_member(
        member.id, now=now, reminders_sent=attempt,
        next_action_at=now + timedelta(days=campaign.remind_after_days) if more else None,
    )  # fmt: skip
    stats.reminded += 1
