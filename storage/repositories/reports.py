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
from dataclasses import astuple, dataclass, field
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
from sqlalchemy.orm import aliased
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
# flow version id → (flow id, version number)
Versions = Mapping[int, tuple[int, int]]
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


def _respondent_filter(sel: Selection, person: Any = Respondent, *, tests: bool = False) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [person.is_test.is_(tests), in_scope(person.organisation_id, sel.scope)]
    if sel.org_path is not None:
        where.append(
            person.organisation_id.in_(select(Organisation.id).where(Organisation.path.startswith(sel.org_path)))
        )
    return where


def _counted_respondent(sel: Selection, respondent_id: Any, *, tests: bool = False) -> ColumnElement[bool]:
    """The respondent counts (or, with `tests`, is a test respondent the selection would
    have counted). Not a join: over the whole system only the few test respondents are left
    out, an anti-join against a hash of those few (measured over a million answers: the join
    to all 100,000 respondents was a third of the report's time)."""
    person = aliased(Respondent, name="counted")  # never correlated with a query's own respondents
    if sel.scope.path == "/" and sel.org_path is None and not tests:
        return ~exists().where(person.id == respondent_id, person.is_test.is_(True))
    return respondent_id.in_(select(person.id).where(*_respondent_filter(sel, person, tests=tests)))


def _session_filter(sel: Selection, versions: Versions, *, tests: bool = False) -> list[ColumnElement[bool]]:
    where = [
        SurveySession.flow_version_id.in_(list(versions)) if versions else false(),
        _counted_respondent(sel, SurveySession.respondent_id, tests=tests),
    ]
    if sel.campaign_id is not None:
        where.append(SurveySession.campaign_id == sel.campaign_id)
    if sel.since is not None:
        where.append(SurveySession.started_at >= sel.since)
    if sel.until is not None:
        where.append(SurveySession.started_at < sel.until)
    return where


def _sessions(sel: Selection, versions: Versions, *columns: Any) -> Select[Any]:
    # Rows carry the session's flow *version*, mapped to its flow in Python: joining
    # flow_versions for its flow_id cost a hash probe per answer.
    return select(*columns).select_from(SurveySession).where(*_session_filter(sel, versions))


def _answers(sel: Selection, versions: Versions, *columns: Any) -> Select[Any]:
    return _sessions(sel, versions, *columns).join(Answer, Answer.session_id == SurveySession.id)


def _of_questions(
    questions: Questions, versions: Versions, version_id: Any = SurveySession.flow_version_id,
    question_id: Any = Answer.question_id,
) -> ColumnElement[bool]:  # fmt: skip
    wanted = [
        and_(version_id.in_(of_flow), question_id.in_(list(q)))
        for f, q in questions.items()
        if q and (of_flow := [v for v, (flow_id, _) in versions.items() if flow_id == f])
    ]
    return or_(*wanted) if wanted else false()


def _count(cond: ColumnElement[bool]) -> Any:
    # count(*) FILTER: measured a quarter cheaper than sum(CASE …) over a million answers.
    return func.count().filter(cond)


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
        self._versions: dict[tuple[int, ...], dict[int, tuple[int, int]]] = {}

    async def versions(self, sel: Selection) -> Versions:
        """The versions of the selected flows: read once, so the big statements filter on a
        list of version ids and never join flow_versions."""
        key = tuple(sel.flow_ids)
        if key not in self._versions:
            rows = await self.session.execute(
                select(FlowVersion.id, FlowVersion.flow_id, FlowVersion.version).where(
                    FlowVersion.flow_id.in_(list(sel.flow_ids)) if sel.flow_ids else false()
                )
            )
            self._versions[key] = {r[0]: (r[1], r[2]) for r in rows}
        return self._versions[key]

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

        versions = await self.versions(sel)
        rows = await self._execute(
            _sessions(
                sel,
                versions,
                SurveySession.flow_version_id,
                func.count(),
                _count(started),
                _count(SurveySession.status == "completed"),
                _count(and_(no_campaign, SurveySession.status == "declined")),
                _count(and_(no_campaign, SurveySession.status == "opted_out")),
            ).group_by(SurveySession.flow_version_id)
        )
        return {versions[r[0]]: SessionCounts(*(int(v) for v in r[1:])) for r in rows}

    async def test_sessions(self, sel: Selection) -> int:
        """The selection's sessions of test respondents (`huifang chat`, the simulator), which
        no figure counts: said in the report, so zeros after a try-out explain themselves."""
        where = _session_filter(sel, await self.versions(sel), tests=True)
        return int(await self.session.scalar(select(func.count()).select_from(SurveySession).where(*where)) or 0)

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

        rows = await self._execute(
            select(
                Campaign.flow_id,
                _count(or_(CampaignMember.invited_at.is_not(None), CampaignMember.interviewer.is_not(None))),
                _count(or_(CampaignMember.reached_at.is_not(None), took_part)),
                _count(CampaignMember.status == "declined"),
                _count(CampaignMember.status == "opted_out"),
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
        versions = await self.versions(sel)
        # Which answers are grouped by value, decided per row by a cheap test (the flow of
        # each question is checked below, in Python): every choice and number, and the free
        # texts read as none of complaint, request or suggestion. Others are counted only.
        by_value = sorted({q for qs in (*choices.values(), *numbers.values()) for q in qs})
        quiet = or_(Answer.text_kind.is_(None), Answer.text_kind == "none")
        keep = and_(ANSWERED, or_(Answer.question_id.in_(by_value), quiet) if by_value else quiet)

        value = case((keep, Answer.value), else_=None).label("value")
        grouped = (
            _answers(
                sel,
                versions,
                SurveySession.flow_version_id,
                Answer.question_id,
                value,
                _count(ANSWERED).label("answered"),
                _count(Answer.skipped.is_(True)).label("skipped"),
                _count(and_(Answer.parsed.is_(False), Answer.skipped.is_(False))).label("unreadable"),
            )
            .group_by(SurveySession.flow_version_id, Answer.question_id, value)
            .cte("grouped")
        )
        codes = _elements(self.session, grouped.c.value).table_valued("value")
        by_group = select(literal("group").label("part"), grouped, null().label("code"))
        by_code = (
            select(
                literal("code"),
                grouped.c.flow_version_id,
                grouped.c.question_id,
                null(),
                grouped.c.answered,
                literal(0),
                literal(0),
                codes.c.value,
            )  # fmt: skip
            .join(codes, true())
            .where(
                grouped.c.value.is_not(None),
                _of_questions(choices, versions, grouped.c.flow_version_id, grouped.c.question_id),
            )
        )
        out = AnswerFigures()
        for part, version_id, qid, found, answered, skipped, unreadable, code in await self._execute(
            union_all(by_group, by_code)
        ):
            flow_id = versions[version_id][0]
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
                said = (flow_id, qid, str(found))
                out.quiet_texts[said] = out.quiet_texts.get(said, 0) + int(answered)
        return out

    async def texts(self, sel: Selection, questions: Questions, *, limit: int) -> list[TextRow]:
        """The newest `limit` free-text answers of each question, each with the first ticket
        opened from it (tickets name the session and question they came from).

        One limited walk down the (question, newest first) index per question id, so the
        database stops early instead of ranking every answer. Flows often share a question id
        ("opinion" is in all nine defaults): one walk serves them all, taking twice their
        share (`limit` × flows × 2), and a flow still short of `limit` when that walk was cut
        off gets a walk of its own. Measured over a million answers: 0.35 s with a walk per
        flow and question, each passing over the other flows' answers."""
        versions = await self.versions(sel)
        flows_of: dict[str, list[int]] = {}
        for f, qs in questions.items():
            for q in qs:
                flows_of.setdefault(q, []).append(f)
        if not flows_of:
            return []

        def of_flows(flows: Sequence[int]) -> Versions:
            return {v: fv for v, fv in versions.items() if fv[0] in flows}

        def walk(question_id: str, flows: Sequence[int], take: int) -> Any:
            return select(
                _answers(
                    sel,
                    of_flows(flows),
                    Answer.id,
                    Answer.session_id,
                    SurveySession.flow_version_id,
                    Answer.question_id,
                    Answer.value,
                    Answer.text_kind,
                    Answer.answered_at,
                )  # fmt: skip
                .where(ANSWERED, Answer.question_id == question_id)
                .order_by(Answer.answered_at.desc(), Answer.id.desc())
                .limit(take)
                .subquery()
            )

        async def run(walks: list[Any]) -> list[Any]:
            # Ranked per flow in the database, so only the rows kept travel to Python.
            walked = union_all(*walks).subquery() if len(walks) > 1 else walks[0].subquery()
            flow = case({v: f for v, (f, _) in versions.items()}, value=walked.c.flow_version_id)
            newest_first = (walked.c.answered_at.desc(), walked.c.id.desc())
            picked = select(
                walked,
                flow.label("flow_id"),
                func.row_number().over(partition_by=(flow, walked.c.question_id), order_by=newest_first).label("rank"),
                func.count().over(partition_by=walked.c.question_id).label("walked"),
            ).subquery()
            ticket = (
                select(func.min(Ticket.id))
                .where(Ticket.session_id == picked.c.session_id, Ticket.question_id == picked.c.question_id)
                .scalar_subquery()
            )
            return list(await self._execute(select(picked, ticket.label("ticket_id")).where(picked.c.rank <= limit)))

        takes = {q: limit * (2 * len(flows) if len(flows) > 1 else 1) for q, flows in flows_of.items()}
        found: dict[tuple[int, str], list[Any]] = {}
        walked: dict[str, int] = {}
        for row in await run([walk(q, flows, takes[q]) for q, flows in flows_of.items()]):
            found.setdefault((row.flow_id, row.question_id), []).append(row)
            walked[row.question_id] = row.walked
        short = [
            (f, q)
            for q, flows in flows_of.items()
            if len(flows) > 1 and walked.get(q, 0) == takes[q]
            for f in flows
            if len(found.get((f, q), ())) < limit
        ]
        if short:
            for f, q in short:
                found.pop((f, q), None)
            for row in await run([walk(q, [f], limit) for f, q in short]):
                found.setdefault((row.flow_id, row.question_id), []).append(row)
        out: list[TextRow] = []
        for (flow_id, _), rows in sorted(found.items()):
            rows.sort(key=lambda r: (r.answered_at, r.id), reverse=True)
            out += [
                TextRow(r.id, flow_id, r.question_id, str(r.value), r.text_kind, r.answered_at, r.ticket_id)
                for r in rows[:limit]
                if isinstance(r.value, str) and r.value.strip()
            ]
        return out

    async def tickets(self, sel: Selection) -> dict[int, TicketCounts]:
        """Per flow: tickets opened from the counted sessions' answers. resolved: at least
        once (a reopened ticket was); passed up: an SLA breach moved it to a parent
        organisation's queue."""
        moved_up = exists().where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind == "sla_breached",
            TicketEvent.data["moved_up"].as_boolean().is_(True),
        )

        versions = await self.versions(sel)
        rows = await self._execute(
            _sessions(
                sel,
                versions,
                SurveySession.flow_version_id,
                func.count(Ticket.id),
                _count(or_(Ticket.resolved_at.is_not(None), Ticket.reopen_count > 0)),
                _count(Ticket.status == "confirmed"),
                _count(Ticket.reopen_count > 0),
                _count(moved_up),
            )
            .join(Ticket, Ticket.session_id == SurveySession.id)
            .group_by(SurveySession.flow_version_id)
        )
        out: dict[int, TicketCounts] = {}
        for version_id, *counts in rows:
            flow_id = versions[version_id][0]
            was = astuple(out.get(flow_id, TicketCounts()))
            out[flow_id] = TicketCounts(*(a + int(b) for a, b in zip(was, counts, strict=True)))
        return out

    async def crosstab(
        self, sel: Selection, questions: Questions, by: str
    ) -> tuple[dict[str | None, dict[str, int]], dict[str | None, int]]:
        """The answers to `questions` counted by `by` (category, organisation id, tag,
        channel): ({key: {code or value: count}}, {key: answers}). A person with several
        tags counts under each; without any, under None."""
        if by not in CROSSTAB_KEYS:
            raise ValueError(f"unknown cross-tab key {by!r}")
        values = _elements(self.session, Answer.value).table_valued("value")
        versions = await self.versions(sel)

        def keyed(*columns: Any) -> tuple[Select[Any], Any]:
            query = _answers(sel, versions, *columns).where(ANSWERED, _of_questions(questions, versions))
            if by == "category":
                return (
                    query.join(FlowVersion, FlowVersion.id == SurveySession.flow_version_id).join(
                        Flow, Flow.id == FlowVersion.flow_id
                    ),
                    Flow.category,
                )
            if by == "channel":
                return query, SurveySession.channel
            query = query.join(Respondent, Respondent.id == SurveySession.respondent_id)
            if by == "organisation":
                return query, Respondent.organisation_id
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
