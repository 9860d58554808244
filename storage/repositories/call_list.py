"""Whom to call: campaign members no chat channel could reach (`campaign_members.status ==
"unreachable"`) or whose phone interview is under way, and respondents with no chat
identity at all who were never surveyed; each with their last recorded call outcome.
Read-only over campaigns, campaign_members, respondents, survey_sessions and call_outcomes;
writes only call outcomes and the interviewer/status of a member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CallOutcome,
    Campaign,
    CampaignMember,
    ChannelIdentity,
    FlowVersion,
    Respondent,
    SurveySession,
)
from storage.models.survey_session import ENDED_STATUSES, OPEN_STATUSES
from storage.repositories.organisations import Scope, in_scope

PHONE = "phone"
# Outcomes after which a person who is in no campaign leaves the list.
FINAL_OUTCOMES = ("refused", "wrong_number")


@dataclass(frozen=True, slots=True)
class CallRow:
    respondent: Respondent
    member: CampaignMember | None
    campaign_name: str | None
    in_progress: bool  # a phone session is open: the interview can be resumed
    last_outcome: str | None
    last_note: str | None
    last_called_at: datetime | None


def _open_phone_session(respondent_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    return exists().where(
        SurveySession.respondent_id == respondent_id,
        SurveySession.channel == PHONE,
        SurveySession.status.in_(OPEN_STATUSES),
    )


class CallListRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def campaign_calls(self, scope: Scope, *, limit: int, offset: int = 0) -> tuple[list[CallRow], int]:
        """Members to call, in scope: unreachable, or in a phone interview under way."""
        where = [
            in_scope(Respondent.organisation_id, scope),
            Respondent.opted_out_at.is_(None),
            or_(
                CampaignMember.status == "unreachable",
                and_(CampaignMember.status == "started", _open_phone_session(CampaignMember.respondent_id)),
            ),
        ]
        base = (
            select(CampaignMember, Respondent, Campaign.name)
            .join(Respondent, Respondent.id == CampaignMember.respondent_id)
            .join(Campaign, Campaign.id == CampaignMember.campaign_id)
            .where(*where)
        )
        total = await self.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = (await self.session.execute(base.order_by(CampaignMember.id).limit(limit).offset(offset))).all()
        return await self._rows([(r, m, name) for m, r, name in rows]), total

    async def people_without_chat(self, scope: Scope, *, limit: int, offset: int = 0) -> tuple[list[CallRow], int]:
        """Respondents in scope no chat channel knows, never surveyed (or in a phone interview
        under way), in no campaign's call list already, and not refused or a wrong number."""
        last = (
            select(CallOutcome.outcome)
            .where(CallOutcome.respondent_id == Respondent.id)
            .order_by(CallOutcome.at.desc(), CallOutcome.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        where = [
            in_scope(Respondent.organisation_id, scope),
            Respondent.is_test.is_(False),
            Respondent.opted_out_at.is_(None),
            ~exists().where(ChannelIdentity.respondent_id == Respondent.id),
            ~exists().where(SurveySession.respondent_id == Respondent.id, SurveySession.status.in_(ENDED_STATUSES)),
            ~exists().where(
                SurveySession.respondent_id == Respondent.id,
                SurveySession.status.in_(OPEN_STATUSES),
                or_(SurveySession.channel.is_(None), SurveySession.channel != PHONE),
            ),
            ~exists().where(
                CampaignMember.respondent_id == Respondent.id, CampaignMember.status.in_(("unreachable", "started"))
            ),
            or_(last.is_(None), last.not_in(FINAL_OUTCOMES)),
        ]
        total = await self.session.scalar(select(func.count()).select_from(Respondent).where(*where)) or 0
        people = await self.session.scalars(
            select(Respondent).where(*where).order_by(Respondent.id).limit(limit).offset(offset)
        )
        return await self._rows([(r, None, None) for r in people]), total

    async def _rows(self, found: list[tuple[Respondent, CampaignMember | None, str | None]]) -> list[CallRow]:
        """Each with their last call outcome and whether a phone interview is open: two
        queries for the page, not two per row."""
        ids = [r.id for r, _, _ in found]
        last: dict[int, CallOutcome] = {}
        for outcome in await self.session.scalars(
            select(CallOutcome).where(CallOutcome.respondent_id.in_(ids)).order_by(CallOutcome.at, CallOutcome.id)
        ):
            last[outcome.respondent_id] = outcome  # ordered: the latest wins
        open_phone = set(
            await self.session.scalars(
                select(SurveySession.respondent_id).where(
                    SurveySession.respondent_id.in_(ids),
                    SurveySession.channel == PHONE,
                    SurveySession.status.in_(OPEN_STATUSES),
                )
            )
        )
        rows = []
        for r, member, campaign in found:
            o = last.get(r.id)
            rows.append(CallRow(
                r, member, campaign, r.id in open_phone,
                o.outcome if o else None, o.note if o else None, o.at if o else None,
            ))  # fmt: skip
        return rows

    async def member(self, member_id: int) -> tuple[CampaignMember, Campaign] | None:
        found = (
            await self.session.execute(
                select(CampaignMember, Campaign)
                .join(Campaign, Campaign.id == CampaignMember.campaign_id)
                .where(CampaignMember.id == member_id)
            )
        ).first()
        return (found[0], found[1]) if found is not None else None

    async def latest_version_of(self, flow_id: int) -> int | None:
        return await self.session.scalar(
            select(FlowVersion.id).where(FlowVersion.flow_id == flow_id).order_by(FlowVersion.version.desc()).limit(1)
        )

    async def add_outcome(
        self,
        *,
        respondent_id: int,
        member_id: int | None,
        outcome: str,
        note: str | None,
        interviewer: str,
        at: datetime,
    ) -> CallOutcome:
        row = CallOutcome(
            respondent_id=respondent_id, campaign_member_id=member_id, outcome=outcome, note=note,
            interviewer=interviewer, at=at,
        )  # fmt: skip
        self.session.add(row)
        await self.session.flush()
        return row

    async def update_member(self, member: CampaignMember, *, at: datetime, **values: object) -> None:
        for name, value in values.items():
            setattr(member, name, value)
        member.updated_at = at
        await self.session.flush()
