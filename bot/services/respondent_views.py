"""Respondents as staff read them: a search in the caller's scope, and one person's whole
history (every survey session with its answers, every ticket).

As in ticket_views: plain frozen dataclasses only (the models' relationships are
lazy="raise"), every read takes the caller's `Scope`, and a person outside it is None, the
same as one that does not exist. Only admins see phone numbers whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.ticket_views import RespondentView, mask_phone
from storage.models import (
    Answer,
    ChannelIdentity,
    Flow,
    FlowVersion,
    Organisation,
    Respondent,
    SurveySession,
    Ticket,
)
from storage.repositories.organisations import OrganisationRepository, Scope, in_scope
from storage.repositories.respondents import RespondentRepository

EXCERPT = 80  # characters of a ticket's text shown in a person's history
_PHONE_JUNK = re.compile(r"[\s\-()（）+]")
_DIGITS = re.compile(r"\d{4,}")


@dataclass(frozen=True, slots=True)
class RespondentRow:
    id: int
    name: str | None
    phone: str | None  # masked unless the reader is an admin
    category: str
    organisation_code: str | None
    organisation_name: str | None
    opted_out: bool
    unreachable: bool
    is_test: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RespondentPage:
    rows: list[RespondentRow]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class HistoryAnswer:
    question_id: str
    prompt_zh: str
    prompt_en: str
    value: str  # option labels in Chinese for a choice, else the parsed value as text
    raw_text: str  # the respondent's own words
    skipped: bool
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class HistorySession:
    id: int
    flow_code: str
    title_zh: str
    title_en: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    answers: list[HistoryAnswer]


@dataclass(frozen=True, slots=True)
class HistoryTicket:
    id: int
    status: str
    kind: str
    excerpt: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RespondentHistory:
    person: RespondentView
    organisation_code: str | None
    sessions: list[HistorySession]
    tickets: list[HistoryTicket]


LAST_DIGITS = 4  # what a masked number shows
WHOLE_NUMBER = 11  # a mainland mobile number, or a landline with its area code


def phone_digits(q: str) -> str | None:
    """The digits to match a phone by, when `q` reads as (part of) a number: four or more
    digits and nothing but phone punctuation."""
    compact = _PHONE_JUNK.sub("", q.strip())
    if not _DIGITS.fullmatch(compact):
        return None
    # Stored numbers may carry +86 or not: the national number's end matches either way.
    for prefix in ("0086", "86"):
        if compact.startswith(prefix) and len(compact) == len(prefix) + 11:
            return compact[len(prefix) :]
    return compact


async def find_respondents(
    s: AsyncSession,
    scope: Scope,
    *,
    full_phone: bool,
    q: str | None = None,
    category: str | None = None,
    organisation: str | None = None,
    include_tests: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> RespondentPage:
    """`q`: a phone's last four digits or whole number (any end of it for those who see
    whole numbers), else words of the name.
    `organisation`: a code; narrows to it and those under it, never beyond `scope`."""
    where = scope
    if organisation:
        org = await OrganisationRepository(s).by_code(organisation.strip())
        if org is None or not (scope.path == "/" or org.path.startswith(scope.path)):
            return RespondentPage([], 0, limit, offset)
        where = Scope.of(org)
    text = (q or "").strip()
    digits = phone_digits(text) if text else None
    if digits is not None and not full_phone and len(digits) != LAST_DIGITS and len(digits) < WHOLE_NUMBER:
        # Whoever sees numbers masked finds people by the last four digits or the whole
        # number: matching any longer end would let them read a number back digit by digit.
        return RespondentPage([], 0, limit, offset)
    people, total = await RespondentRepository(s).search(
        where,
        name=None if digits or not text else text,
        phone_digits=digits,
        category=category or None,
        include_tests=include_tests,
        limit=limit,
        offset=offset,
    )
    orgs = await _organisations(s, {p.organisation_id for p in people if p.organisation_id is not None})
    rows = [
        RespondentRow(
            id=p.id,
            name=p.name,
            phone=p.phone if full_phone else mask_phone(p.phone),
            category=p.category,
            organisation_code=orgs[p.organisation_id][0] if p.organisation_id in orgs else None,
            organisation_name=orgs[p.organisation_id][1] if p.organisation_id in orgs else None,
            opted_out=p.opted_out_at is not None,
            unreachable=p.unreachable_at is not None,
            is_test=p.is_test,
            created_at=p.created_at,
        )  # fmt: skip
        for p in people
    ]
    return RespondentPage(rows, total, limit, offset)


async def _organisations(s: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = await s.execute(
        select(Organisation.id, Organisation.code, Organisation.name).where(Organisation.id.in_(ids))
    )
    return {i: (code, name) for i, code, name in rows}


async def respondent_history(
    s: AsyncSession, scope: Scope, respondent_id: int, *, full_phone: bool
) -> RespondentHistory | None:
    person = await s.scalar(
        select(Respondent).where(Respondent.id == respondent_id, in_scope(Respondent.organisation_id, scope))
    )
    if person is None:
        return None
    orgs = await _organisations(s, {person.organisation_id} if person.organisation_id is not None else set())
    org = orgs.get(person.organisation_id) if person.organisation_id is not None else None
    channels = await s.execute(
        select(ChannelIdentity.channel, ChannelIdentity.account)
        .where(ChannelIdentity.respondent_id == person.id)
        .order_by(ChannelIdentity.id)
    )
    view = RespondentView(
        id=person.id,
        name=person.name,
        phone=person.phone if full_phone else mask_phone(person.phone),
        category=person.category,
        organisation_name=org[1] if org else None,
        channels=[f"{channel}:{account}" for channel, account in channels],
        opted_out=person.opted_out_at is not None,
        unreachable_reason=(person.unreachable_reason or "—") if person.unreachable_at is not None else None,
        is_test=person.is_test,
    )
    return RespondentHistory(
        person=view,
        organisation_code=org[0] if org else None,
        sessions=await _sessions(s, person.id),
        tickets=await _tickets(s, scope, person.id),
    )


async def _sessions(s: AsyncSession, respondent_id: int) -> list[HistorySession]:
    sessions = list(
        await s.scalars(
            select(SurveySession)
            .where(SurveySession.respondent_id == respondent_id)
            .order_by(SurveySession.started_at.desc(), SurveySession.id.desc())
        )
    )
    if not sessions:
        return []
    versions = {
        v.id: v
        for v in await s.scalars(select(FlowVersion).where(FlowVersion.id.in_({x.flow_version_id for x in sessions})))
    }
    flows = {
        f.id: f.code for f in await s.scalars(select(Flow).where(Flow.id.in_({v.flow_id for v in versions.values()})))
    }
    answers: dict[int, list[Answer]] = {}
    for a in await s.scalars(
        select(Answer).where(Answer.session_id.in_([x.id for x in sessions])).order_by(Answer.answered_at, Answer.id)
    ):
        answers.setdefault(a.session_id, []).append(a)
    out = []
    for session in sessions:
        version = versions.get(session.flow_version_id)
        definition: Mapping[str, Any] = (version.definition if version is not None else None) or {}
        title = definition.get("title") or {}
        questions = {q.get("id"): q for q in definition.get("questions") or []}
        order = {qid: i for i, qid in enumerate(questions)}
        mine = sorted(answers.get(session.id, []), key=lambda a: (order.get(a.question_id, len(order)), a.answered_at))
        out.append(
            HistorySession(
                id=session.id,
                flow_code=flows.get(version.flow_id, "") if version is not None else "",
                title_zh=str(title.get("zh", "")),
                title_en=str(title.get("en", "")),
                version=version.version if version is not None else 0,
                status=session.status,
                started_at=session.started_at,
                ended_at=session.ended_at,
                answers=[_answer(a, questions.get(a.question_id) or {}) for a in mine],
            )
        )
    return out


def _answer(a: Answer, question: Mapping[str, Any]) -> HistoryAnswer:
    prompt = question.get("prompt") or {}
    return HistoryAnswer(
        question_id=a.question_id,
        prompt_zh=str(prompt.get("zh", a.question_id)),
        prompt_en=str(prompt.get("en", "")),
        value="" if a.skipped else _labelled(a.value, question),
        raw_text=a.raw_text,
        skipped=a.skipped,
        answered_at=a.answered_at,
    )


def _labelled(value: Any, question: Mapping[str, Any]) -> str:
    """Option codes as the labels staff know (非常好, not very_good); anything else as text."""
    labels = {
        o.get("code"): str((o.get("label") or {}).get("zh") or o.get("code"))
        for o in question.get("options") or []
        if isinstance(o, Mapping)
    }
    values = value if isinstance(value, list) else [value] if value is not None else []
    return "、".join(labels.get(v, str(v)) if isinstance(v, str) else str(v) for v in values)


async def _tickets(s: AsyncSession, scope: Scope, respondent_id: int) -> list[HistoryTicket]:
    # Only the tickets the reader may open: a link to another organisation's ticket would 404.
    rows = await s.scalars(
        select(Ticket)
        .where(Ticket.respondent_id == respondent_id, in_scope(Ticket.organisation_id, scope))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    return [
        HistoryTicket(
            id=t.id,
            status=t.status,
            kind=t.kind,
            excerpt=t.text if len(t.text) <= EXCERPT else t.text[: EXCERPT - 1] + "…",
            created_at=t.created_at,
        )
        for t in rows
    ]
