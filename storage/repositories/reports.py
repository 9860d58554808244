"""The counts behind a report, each one set-based statement (GROUP BY in the database), so a
report over a million answers never brings the answers into Python.

Which sessions count (`Selection`): those of flows `flow_ids`, started (`started_at`) in
[since, until), of respondents in `scope` (and under `org_path` when given), not marked as
tests, and of `campaign_id` when given. Everything else — answers, texts, tickets,
cross-tabs — is counted over those sessions. Campaign members count by the campaign's flow
and by when they were invited (their row's creation when they never were).

Choice answers are JSON: a code, or a list of codes for multiple choice. Both are counted
through one "elements" table function (json_each on SQLite, jsonb_array_elements_text on
PostgreSQL, a scalar wrapped into a one-element array first), so a question whose type
changed between versions still counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.functions import Function

from storage.dialects import dialect_name
from storage.models import (
    Answer,
    Campaign,
    CampaignMember,
    Flow,
    FlowVersion,
    Organisation,
    Respondent,
    SurveySession,
    Ticket,
    TicketEvent,
)
from storage.repositories.organisations import Scope, in_scope

# flow id → question ids
Questions = Mapping[int, Sequence[str]]
CROSSTAB_KEYS = ("category", "organisation", "tag", "channel")


@dataclass(frozen=True, slots=True)
class Selection:
    flow_ids: Sequence[int]
    scope: Scope
    org_path: str | None = None
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionCounts:
    sessions: int = 0
    started: int = 0
    completed: int = 0
    declined: int = 0  # sessions run without a campaign only (see ReportRepository.sessions)
    opted_out: int = 0


@dataclass(frozen=True, slots=True)
class MemberCounts:
    invited: int = 0
    reached: int = 0
    declined: int = 0
    opted_out: int = 0


@dataclass(frozen=True, slots=True)
class AnswerCounts:
    answered: int = 0
    skipped: int = 0
    unreadable: int = 0


@dataclass(slots=True)
class AnswerFigures:
    counts: dict[tuple[int, str], AnswerCounts] = field(default_factory=dict)
    # (flow, question, option code) → how many answers picked it
    choices: dict[tuple[int, str, str], int] = field(default_factory=dict)
    # (flow, question) → {value: how many answered it}, the distribution of a number
    numbers: dict[tuple[int, str], dict[float, int]] = field(default_factory=dict)
    # (flow, question, text) → how many gave it, for the free texts read as no complaint,
    # request or suggestion: grouped by wording, so "没有" said ten thousand times is one row
    quiet_texts: dict[tuple[int, str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketCounts:
    opened: int = 0
    resolved: int = 0
    confirmed: int = 0
    reopened: int = 0
    passed_up: int = 0


@dataclass(frozen=True, slots=True)
class TextRow:
    answer_id: int
    flow_id: int
    question_id: str
    text: str
    kind: str | None
    at: datetime
    ticket_id: int | None


def _respondent_filter(sel: Selection) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Respondent.is_test.is_(False), in_scope(Respondent.organisation_id, sel.scope)]
    if sel.org_path is not None:
        where.append(
            Respondent.organisation_id.in_(select(Organisation.id).where(Organisation.path.startswith(sel.org_path)))
        )
    return where


def _session_filter(sel: Selection) -> list[ColumnElement[bool]]:
    where = _respondent_filter(sel)
    where.append(FlowVersion.flow_id.in_(list(sel.flow_ids)) if sel.flow_ids else false())
    if sel.campaign_id is not None:
        where.append(SurveySession.campaign_id == sel.campaign_id)
    if sel.since is not None:
        where.append(SurveySession.started_at >= sel.since)
    if sel.until is not None:
        where.append(SurveySession.started_at < sel.until)
    return where


def _sessions(sel: Selection, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .select_from(SurveySession)
        .join(Respondent, Respondent.id == SurveySession.respondent_id)
        .join(FlowVersion, FlowVersion.id == SurveySession.flow_version_id)
        .where(*_session_filter(sel))
    )


def _answers(sel: Selection, *columns: Any) -> Select[Any]:
    return _sessions(sel, *columns).join(Answer, Answer.session_id == SurveySession.id)


def _of_questions(
    questions: Questions, flow_id: Any = FlowVersion.flow_id, question_id: Any = Answer.question_id
) -> ColumnElement[bool]:
    wanted = [and_(flow_id == f, question_id.in_(list(q))) for f, q in questions.items() if q]
    return or_(*wanted) if wanted else false()


ANSWERED = and_(Answer.parsed.is_(True), Answer.skipped.is_(False), Answer.value.is_not(None))


def _elements(session: AsyncSession, value: Any) -> Function[Any]:
    """The codes in a JSON value as a table with one text column `value`."""
    if dialect_name(session) == "postgresql":
        as_array = case((func.jsonb_typeof(value) == "array", value), else_=func.jsonb_build_array(value))
        return func.jsonb_array_elements_text(as_array)
    return func.json_each(value)


def _key(value: Any) -> str:
    """A code or number from either database, as the same text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._tuned = False

    async def _execute(self, query: Any) -> Any:
        if not self._tuned and dialect_name(self.session) == "postgresql":
            # Measured by bench/report.py over a million answers: the planner's costs pass
            # jit_above_cost, and compiling each statement took 0.3-0.7 s; and grouping the
            # answers by value, estimated at tens of thousands of groups, was sorted on disk
            # (about 1 s) under the default 4 MB instead of hashed in memory. SET LOCAL ends
            # with the report's transaction.
            await self.session.execute(text("SET LOCAL jit = off"))
            await self.session.execute(text("SET LOCAL work_mem = '32MB'"))
        self._tuned = True
        return await self.session.execute(query)

    async def sessions(self, sel: Selection) -> dict[tuple[int, int], SessionCounts]:
        """Per (flow, version). started: consented or answered something; declined / opted out: only
        sessions run without a campaign (a campaign's are counted from its members, who may
        also have declined or opted out before any session existed)."""
        has_answer = exists().where(Answer.session_id == SurveySession.id)
        started = or_(SurveySession.status.in_(("active", "completed")), has_answer)
        no_campaign = SurveySession.campaign_id.is_(None)

        def count(cond: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

        rows = await self._execute(
            _sessions(
                sel,
                FlowVersion.flow_id,
                FlowVersion.version,
                func.count(),
                count(started),
                count(SurveySession.status == "completed"),
                count(and_(no_campaign, SurveySession.status == "declined")),
                count(and_(no_campaign, SurveySession.status == "opted_out")),
            ).group_by(FlowVersion.flow_id, FlowVersion.version)
        )
        return {(r[0], r[1]): SessionCounts(*(int(v) for v in r[2:])) for r in rows}

    async def members(self, sel: Selection) -> dict[int, MemberCounts]:
        """Per flow (the campaign's). invited: the invitation was written, or an interviewer
        took the member on; reached: it was delivered, or they took part at all."""
        where = _respondent_filter(sel)
        where.append(Campaign.flow_id.in_(list(sel.flow_ids)) if sel.flow_ids else false())
        if sel.campaign_id is not None:
            where.append(CampaignMember.campaign_id == sel.campaign_id)
        when = func.coalesce(CampaignMember.invited_at, CampaignMember.created_at)
        if sel.since is not None:
            where.append(when >= sel.since)
        if sel.until is not None:
            where.append(when < sel.until)
        took_part = CampaignMember.status.in_(("started", "completed"))

        def count(cond: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

        rows = await self._execute(
            select(
                Campaign.flow_id,
                count(or_(CampaignMember.invited_at.is_not(None), CampaignMember.interviewer.is_not(None))),
                count(or_(CampaignMember.reached_at.is_not(None), took_part)),
                count(CampaignMember.status == "declined"),
                count(CampaignMember.status == "opted_out"),
            )
            .select_from(CampaignMember)
            .join(Campaign, Campaign.id == CampaignMember.campaign_id)
            .join(Respondent, Respondent.id == CampaignMember.respondent_id)
            .where(*where)
            .group_by(Campaign.flow_id)
        )
        return {r[0]: MemberCounts(*(int(v) for v in r[1:])) for r in rows}

    async def answer_figures(
        self, sel: Selection, *, choices: Questions, numbers: Questions, texts: Questions
    ) -> AnswerFigures:
        """Every count of the answers in one pass over them: grouped by question and by
        value where a figure needs the value (choices, numbers, and free texts read as no
        complaint, request or suggestion); the codes of multiple choices are then expanded
        from those few groups, not from every answer."""
        quiet = or_(Answer.text_kind.is_(None), Answer.text_kind == "none")
        keep = and_(ANSWERED, or_(_of_questions(choices), _of_questions(numbers), and_(_of_questions(texts), quiet)))

        def count(cond: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

        value = case((keep, Answer.value), else_=None).label("value")
        grouped = (
            _answers(
                sel,
                FlowVersion.flow_id,
                Answer.question_id,
                value,
                count(ANSWERED).label("answered"),
                count(Answer.skipped.is_(True)).label("skipped"),
                count(and_(Answer.parsed.is_(False), Answer.skipped.is_(False))).label("unreadable"),
            )
            .group_by(FlowVersion.flow_id, Answer.question_id, value)
            .cte("grouped")
        )
        codes = _elements(self.session, grouped.c.value).table_valued("value")
        by_group = select(literal("group").label("part"), grouped, null().label("code"))
        by_code = (
            select(
                literal("code"),
                grouped.c.flow_id,
                grouped.c.question_id,
                null(),
                grouped.c.answered,
                literal(0),
                literal(0),
                codes.c.value,
            )  # fmt: skip
            .join(codes, true())
            .where(grouped.c.value.is_not(None), _of_questions(choices, grouped.c.flow_id, grouped.c.question_id))
        )
        out = AnswerFigures()
        for part, flow_id, qid, found, answered, skipped, unreadable, code in await self._execute(
            union_all(by_group, by_code)
        ):
            key = (flow_id, qid)
            if part == "code":
                out.choices[(flow_id, qid, _key(code))] = out.choices.get((flow_id, qid, _key(code)), 0) + int(answered)
                continue
            was = out.counts.get(key, AnswerCounts())
            out.counts[key] = AnswerCounts(
                was.answered + int(answered), was.skipped + int(skipped), was.unreadable + int(unreadable)
            )
            if found is None:
                continue
            if qid in numbers.get(flow_id, ()):
                if isinstance(found, bool) or not isinstance(found, int | float):
                    continue  # not a number (a question whose type changed): nothing to average
                bucket = out.numbers.setdefault(key, {})
                bucket[float(found)] = bucket.get(float(found), 0) + int(answered)
            elif qid in texts.get(flow_id, ()):
                out.quiet_texts[(flow_id, qid, str(found))] = int(answered)
        return out

    async def texts(self, sel: Selection, questions: Questions, *, limit: int) -> list[TextRow]:
        """The newest `limit` free-text answers of each question, each with the first ticket
        opened from it (tickets name the session and question they came from). One limited
        SELECT per question, so the database walks the (question, newest first) index and
        stops at `limit` instead of ranking every answer of every question."""
        pairs = [(f, q) for f, qs in questions.items() for q in qs]
        if not pairs:
            return []
        newest = [
            select(
                _answers(
                    sel,
                    Answer.id,
                    Answer.session_id,
                    FlowVersion.flow_id,
                    Answer.question_id,
                    Answer.value,
                    Answer.text_kind,
                    Answer.answered_at,
                )  # fmt: skip
                .where(ANSWERED, FlowVersion.flow_id == flow_id, Answer.question_id == question_id)
                .order_by(Answer.answered_at.desc(), Answer.id.desc())
                .limit(limit)
                .subquery()
            )
            for flow_id, question_id in pairs
        ]
        picked = union_all(*newest).subquery() if len(newest) > 1 else newest[0].subquery()
        ticket = (
            select(func.min(Ticket.id))
            .where(Ticket.session_id == picked.c.session_id, Ticket.question_id == picked.c.question_id)
            .scalar_subquery()
        )
        rows = await self._execute(
            select(picked, ticket.label("ticket_id")).order_by(
                picked.c.flow_id, picked.c.question_id, picked.c.answered_at.desc(), picked.c.id.desc()
            )
        )
        return [
            TextRow(r.id, r.flow_id, r.question_id, str(r.value), r.text_kind, r.answered_at, r.ticket_id)
            for r in rows
            if isinstance(r.value, str) and r.value.strip()
        ]

    async def tickets(self, sel: Selection) -> dict[int, TicketCounts]:
        """Per flow: tickets opened from the counted sessions' answers. resolved: at least
        once (a reopened ticket was); passed up: an SLA breach moved it to a parent
        organisation's queue."""
        moved_up = exists().where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind == "sla_breached",
            TicketEvent.data["moved_up"].as_boolean().is_(True),
        )

        def count(cond: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

        rows = await self._execute(
            _sessions(
                sel,
                FlowVersion.flow_id,
                func.count(Ticket.id),
                count(or_(Ticket.resolved_at.is_not(None), Ticket.reopen_count > 0)),
                count(Ticket.status == "confirmed"),
                count(Ticket.reopen_count > 0),
                count(moved_up),
            )
            .join(Ticket, Ticket.session_id == SurveySession.id)
            .group_by(FlowVersion.flow_id)
        )
        return {r[0]: TicketCounts(*(int(v) for v in r[1:])) for r in rows}

    async def crosstab(
        self, sel: Selection, questions: Questions, by: str
    ) -> tuple[dict[str | None, dict[str, int]], dict[str | None, int]]:
        """The answers to `questions` counted by `by` (category, organisation id, tag,
        channel): ({key: {code or value: count}}, {key: answers}). A person with several
        tags counts under each; without any, under None."""
        if by not in CROSSTAB_KEYS:
            raise ValueError(f"unknown cross-tab key {by!r}")
        values = _elements(self.session, Answer.value).table_valued("value")

        def keyed(*columns: Any) -> tuple[Select[Any], Any]:
            query = _answers(sel, *columns).where(ANSWERED, _of_questions(questions))
            if by == "category":
                return query.join(Flow, Flow.id == FlowVersion.flow_id), Flow.category
            if by == "organisation":
                return query, Respondent.organisation_id
            if by == "channel":
                return query, SurveySession.channel
            tags = _elements(self.session, Respondent.tags).table_valued("value").alias("tag")
            return query.outerjoin(tags, true()), tags.c.value

        counts: dict[str | None, dict[str, int]] = {}
        answered: dict[str | None, int] = {}
        if not questions:
            return counts, answered
        query, key = keyed()
        query = query.join(values, true()).add_columns(key, values.c.value, func.count()).group_by(key, values.c.value)
        for k, value, n in await self._execute(query):
            row = counts.setdefault(None if k is None else _key(k), {})
            row[_key(value)] = row.get(_key(value), 0) + int(n)
        query, key = keyed()
        query = query.add_columns(key, func.count(func.distinct(Answer.id))).group_by(key)
        for k, n in await self._execute(query):
            answered[None if k is None else _key(k)] = int(n)
        return counts, answered


__all__ = [
    "CROSSTAB_KEYS", "AnswerCounts", "AnswerFigures", "MemberCounts", "ReportRepository", "Selection", "SessionCounts",
    "TextRow", "TicketCounts",
]  # fmt: skip
