"""Campaigns and their members (storage/models/campaign*.py say what the statuses mean).

Selecting a campaign's members is one INSERT … SELECT: a segment of 100,000 people never
passes through Python. Members are unique per (campaign, respondent), so selecting again
adds only people who were not there yet.

Each invitation and reminder is one outbox row whose dedup key names the campaign, the
member and the attempt (`message_key`): the campaign job can be run twice and still write
each message once, and what the dispatcher made of the invitation is read back through the
same key (`record_deliveries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Text,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import dialect_name, upsert_insert
from storage.models import Campaign, CampaignMember, ChannelIdentity, Organisation, OutboxMessage, Respondent
from storage.models.base import UtcDateTime
from storage.models.survey_session import SurveySession
from storage.repositories.organisations import Scope, in_scope

# The chat channels an invitation can take, best first: a person with a WeChat identity is
# invited there (the organisation's Official Account), else on Telegram.
CHAT_CHANNELS = ("wechat", "telegram")
INVITATION = 0  # attempt 0 is the invitation; 1, 2, … are the reminders

# Which member statuses a survey event may move from. A finished member (completed, opted
# out) stays so; an unreachable one moves when a phone interview reaches them.
# "abandoned" (the session ended unfinished: silence, replaced) is "declined" for someone
# the invitation reached, but never takes a member off the call list: an invitation WeChat
# refused leaves its session waiting, and its expiry says nothing about the person. A phone
# interview may start again someone who declined by chat.
_MOVES_FROM: dict[str, tuple[str, ...]] = {
    "started": ("queued", "invited", "unreachable", "declined"),
    "completed": ("queued", "invited", "started", "unreachable", "declined"),
    "declined": ("queued", "invited", "started", "unreachable"),
    "abandoned": ("invited", "started"),
    "opted_out": ("queued", "invited", "started", "unreachable", "declined"),
}
_STATUS = {"abandoned": "declined"}
_STAMP = {
    "started": "started_at",
    "completed": "completed_at",
    "declined": "declined_at",
    "abandoned": "declined_at",
    "opted_out": "opted_out_at",
}


def message_key(campaign_id: int, member_id: int, attempt: int) -> str:
    """The outbox dedup key of a member's invitation (attempt 0) or reminder (1, 2, …)."""
    return f"campaign:{campaign_id}:{member_id}:{attempt}"


def _member_key(attempt: int) -> ColumnElement[str]:
    """`message_key` in SQL, for the member row at hand."""
    return (
        literal("campaign:")
        + cast(CampaignMember.campaign_id, String)
        + literal(":")
        + cast(CampaignMember.id, String)
        + literal(f":{attempt}")
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """Who a campaign is for; empty means any. `organisation_paths`: the subtrees chosen
    (each an Organisation.path), all inside the campaign organisation's own."""

    organisation_path: str
    organisation_paths: Sequence[str] = ()
    categories: Sequence[str] = ()
    tags: Sequence[str] = ()
    not_surveyed_days: int = 0


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    by_status: dict[str, int]
    invited: int  # invitations written (whatever happened next)
    reached: int  # invitations the channel delivered
    started: int
    completed: int
    declined: int
    opted_out: int
    unreachable: dict[str, int]  # reason → members


@dataclass(frozen=True, slots=True)
class DueMember:
    id: int
    respondent_id: int
    status: str
    channel: str | None
    account: str | None
    reminders_sent: int
    session_id: int | None


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- campaigns ----------------------------------------------------------------------

    async def create(self, **values: Any) -> Campaign:
        campaign = Campaign(**values)
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def get(self, campaign_id: int, *, scope: Scope | None = None, lock: bool = False) -> Campaign | None:
        query = select(Campaign).where(Campaign.id == campaign_id)
        if scope is not None:
            query = query.where(in_scope(Campaign.organisation_id, scope))
        if lock and dialect_name(self.session) == "postgresql":
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def in_scope(self, scope: Scope) -> list[Campaign]:
        rows = await self.session.scalars(
            select(Campaign).where(in_scope(Campaign.organisation_id, scope)).order_by(Campaign.id.desc())
        )
        return list(rows)

    async def count_running(self, scope: Scope) -> int:
        query = select(func.count()).select_from(Campaign).where(
            Campaign.status == "running", in_scope(Campaign.organisation_id, scope)
        )
        return int(await self.session.scalar(query) or 0)

    async def running(self) -> list[Campaign]:
        rows = await self.session.scalars(select(Campaign).where(Campaign.status == "running").order_by(Campaign.id))
        return list(rows)

    # --- members ------------------------------------------------------------------------

    async def select_members(self, campaign: Campaign, segment: Segment, *, now: datetime) -> int:
        """Add everyone in the segment not yet a member, "queued" and due now; how many.

        Left out: test respondents, people who opted out, and anyone who began a survey
        (any flow, any campaign, or on their own) within the cooldown or the segment's
        "not surveyed for D days", whichever is longer."""
        person = Respondent
        conditions: list[ColumnElement[bool]] = [
            person.is_test.is_(False),
            person.opted_out_at.is_(None),
            # The campaign's organisation and those under it; the city society's also reaches
            # people of no organisation, who are its (`in_scope`).
            in_scope(person.organisation_id, Scope(segment.organisation_path)),
        ]
        if segment.organisation_paths:
            conditions.append(
                person.organisation_id.in_(
                    select(Organisation.id).where(
                        or_(*(Organisation.path.startswith(p) for p in segment.organisation_paths))
                    )
                )
            )
        if segment.categories:
            conditions.append(person.category.in_(list(segment.categories)))
        if segment.tags:
            conditions.append(self._has_any_tag(list(segment.tags)))
        days = max(campaign.cooldown_days, segment.not_surveyed_days)
        if days > 0:
            since = now - timedelta(days=days)
            conditions.append(
                ~exists().where(SurveySession.respondent_id == person.id, SurveySession.started_at >= since)
            )
        rank = case({c: i for i, c in enumerate(CHAT_CHANNELS)}, value=ChannelIdentity.channel)
        best = (
            select(ChannelIdentity.channel, ChannelIdentity.account)
            .where(ChannelIdentity.respondent_id == person.id, ChannelIdentity.channel.in_(CHAT_CHANNELS))
            .order_by(rank, ChannelIdentity.id.desc())
            .limit(1)
        )
        best_channel = best.with_only_columns(ChannelIdentity.channel).scalar_subquery()
        best_account = best.with_only_columns(ChannelIdentity.account).scalar_subquery()
        stamp = literal(now, UtcDateTime())
        chosen = select(
            literal(campaign.id),
            person.id,
            literal("queued"),
            best_channel,
            best_account,
            literal(0),
            stamp,
            stamp,
            stamp,
        ).where(*conditions)
        statement = (
            upsert_insert(self.session, CampaignMember.__table__)
            .from_select(
                [
                    "campaign_id",
                    "respondent_id",
                    "status",
                    "channel",
                    "account",
                    "reminders_sent",
                    "next_action_at",
                    "created_at",
                    "updated_at",
                ],
                chosen,
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "respondent_id"])
        )
        result = await self.session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _has_any_tag(self, tags: list[str]) -> ColumnElement[bool]:
        if dialect_name(self.session) == "postgresql":
            return Respondent.tags.op("?|")(bindparam("segment_tags", tags, type_=ARRAY(Text)))
        each = func.json_each(Respondent.tags).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(column("value").in_(tags)))

    async def get_member(self, member_id: int) -> CampaignMember | None:
        return await self.session.get(CampaignMember, member_id, populate_existing=True)

    async def member_of(self, campaign_id: int, respondent_id: int) -> CampaignMember | None:
        return await self.session.scalar(
            select(CampaignMember).where(
                CampaignMember.campaign_id == campaign_id, CampaignMember.respondent_id == respondent_id
            )
        )

    async def mark_without_channel(self, campaign_id: int, *, reason: str, now: datetime) -> int:
        """Queued members no chat channel can carry an invitation to: onto the call list."""
        result = await self.session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.status == "queued",
                CampaignMember.channel.is_(None),
            )
            .values(status="unreachable", reason=reason, next_action_at=None, updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def due_accounts(self, campaign_id: int, *, now: datetime) -> list[tuple[str, str]]:
        """The (channel, account) pairs with members due for an invitation or a reminder."""
        rows = await self.session.execute(
            select(CampaignMember.channel, CampaignMember.account)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.status.in_(("queued", "invited", "started")),
                CampaignMember.next_action_at <= now,
                CampaignMember.channel.is_not(None),
            )
            .distinct()
        )
        return [(str(c), str(a)) for c, a in rows]

    async def due_members(
        self, campaign_id: int, *, channel: str, account: str, now: datetime, limit: int
    ) -> list[DueMember]:
        """Members due now on one account, invitations and reminders, oldest due first."""
        if limit <= 0:
            return []
        rows = await self.session.execute(
            select(
                CampaignMember.id,
                CampaignMember.respondent_id,
                CampaignMember.status,
                CampaignMember.channel,
                CampaignMember.account,
                CampaignMember.reminders_sent,
                CampaignMember.session_id,
            )
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.status.in_(("queued", "invited", "started")),
                CampaignMember.next_action_at <= now,
                CampaignMember.channel == channel,
                CampaignMember.account == account,
            )
            .order_by(CampaignMember.next_action_at, CampaignMember.id)
            .limit(limit)
        )
        return [DueMember(*row) for row in rows]

    async def written_since(self, campaign_id: int, *, channel: str, account: str, since: datetime) -> int:
        """Invitations and reminders of this campaign queued for one account since `since`
        (the throttle's count: a second run in the same minute sends only what is left)."""
        found = await self.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.created_at >= since,
                OutboxMessage.kind.in_(("invitation", "reminder")),
                OutboxMessage.channel == channel,
                OutboxMessage.account == account,
                OutboxMessage.dedup_key.startswith(f"campaign:{campaign_id}:", autoescape=True),
            )
        )
        return int(found or 0)

    async def update_member(self, member_id: int, *, now: datetime, **values: Any) -> None:
        await self.session.execute(
            update(CampaignMember).where(CampaignMember.id == member_id).values(updated_at=now, **values)
        )

    async def record_deliveries(self, campaign_id: int, *, now: datetime) -> tuple[int, int]:
        """What the dispatcher made of the invitations: a sent row → `reached_at` (its
        sent time); a row it gave up on (unreachable: 48 h window closed without a
        template, unsubscribed…; failed) → the member is unreachable with the row's reason.
        (reached, unreachable) counts."""
        key = _member_key(INVITATION)
        sent_at = (
            select(OutboxMessage.sent_at)
            .where(OutboxMessage.dedup_key == key, OutboxMessage.status == "sent")
            .scalar_subquery()
        )
        reached = await self.session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.invited_at.is_not(None),
                CampaignMember.reached_at.is_(None),
                sent_at.is_not(None),
            )
            .values(reached_at=sent_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        gave_up = (
            select(OutboxMessage.last_error)
            .where(OutboxMessage.dedup_key == key, OutboxMessage.status.in_(("unreachable", "failed")))
            .scalar_subquery()
        )
        refused = exists().where(OutboxMessage.dedup_key == key, OutboxMessage.status.in_(("unreachable", "failed")))
        lost = await self.session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.status == "invited",
                CampaignMember.reached_at.is_(None),  # a sent invitation never turns unreachable
                refused,
            )
            .values(
                status="unreachable", reason=func.coalesce(gave_up, "unreachable"), next_action_at=None, updated_at=now
            )  # fmt: skip
            .execution_options(synchronize_session=False)
        )
        return int(reached.rowcount or 0), int(lost.rowcount or 0)  # type: ignore[attr-defined]

    async def advance(
        self,
        campaign_id: int,
        respondent_id: int,
        to: str,
        *,
        now: datetime,
        session_id: int | None = None,
        channel: str | None = None,
        interviewer: str | None = None,
    ) -> bool:
        """Move a member as their survey session says (`to`: started, completed,
        declined, abandoned, opted_out), only forward (see _MOVES_FROM); whether it moved."""
        status = _STATUS.get(to, to)
        values: dict[str, Any] = {"status": status, _STAMP[to]: now, "updated_at": now, "next_action_at": None}
        if to == "started":
            # Reminders go on while they have not finished.
            values.pop("next_action_at")
        if session_id is not None:
            values["session_id"] = session_id
        if channel is not None:
            values["channel"] = channel
        if interviewer is not None:
            values["interviewer"] = interviewer
        if status != "declined":
            values["reason"] = None
        result = await self.session.execute(
            update(CampaignMember)
            .where(
                CampaignMember.campaign_id == campaign_id,
                CampaignMember.respondent_id == respondent_id,
                CampaignMember.status.in_(_MOVES_FROM[to]),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def progress(self, campaign_id: int) -> Progress:
        m = CampaignMember
        mine = m.campaign_id == campaign_id
        by_status = {
            str(s): int(n)
            for s, n in await self.session.execute(select(m.status, func.count()).where(mine).group_by(m.status))
        }
        row = (
            await self.session.execute(
                select(
                    func.count(m.invited_at),
                    func.count(m.reached_at),
                    func.count(m.started_at),
                ).where(mine)
            )
        ).one()
        reasons = {
            str(r or ""): int(n)
            for r, n in await self.session.execute(
                select(m.reason, func.count()).where(mine, m.status == "unreachable").group_by(m.reason)
            )
        }
        return Progress(
            total=sum(by_status.values()),
            by_status=by_status,
            invited=int(row[0]),
            reached=int(row[1]),
            started=int(row[2]),
            completed=by_status.get("completed", 0),
            declined=by_status.get("declined", 0),
            opted_out=by_status.get("opted_out", 0),
            unreachable=reasons,
        )

    async def unreachable_members(self, campaign_id: int, *, limit: int = 200, offset: int = 0) -> list[CampaignMember]:
        """The call list: members no chat channel reached, oldest first."""
        rows = await self.session.scalars(
            select(CampaignMember)
            .where(CampaignMember.campaign_id == campaign_id, CampaignMember.status == "unreachable")
            .order_by(CampaignMember.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

