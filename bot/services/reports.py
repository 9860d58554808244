"""Reports: what the surveys found, as JSON-ready figures (the contract in
briefs/report-contract.md; exports, pages and the written summary read this dict).

Decisions:
- A session counts when it *started* (`survey_sessions.started_at`) within [since, until):
  a report "for June" is about the surveys held in June, and every answer, text and ticket
  of such a session counts with it even when it came in July. Dates are days in
  Asia/Shanghai, both ends included; datetimes are instants, `until` excluded.
- Figures per flow join all its versions: questions by id, options by code, the newest
  version's wording and order first (older-only questions and options after it).
- invited / reached come from campaign members (a flow taken without a campaign has 0
  invited: nobody was asked). started = sessions that consented or answered something;
  completed = sessions completed; declined and opted_out = campaign members with that status
  plus sessions without a campaign that ended so (never counted twice).
- Shares are fractions of those who answered the question (4 decimals); multiple choice
  counts each option a respondent picked, so its shares can add past 1.
- Follow-up flows (kind: followup, e.g. the ticket confirmation) are left out unless named
  with flow_id: they are huifang's own questions, not a survey's.
- Test respondents never count; the caller's organisation scope always applies, and an
  organisation, flow or campaign outside it is reported as unknown.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.catalog import category_by_name
from flows.detect import says_nothing
from flows.schema import Flow as FlowDefinition
from flows.schema import Question
from storage.models import Campaign, Flow, FlowVersion, Organisation
from storage.repositories.organisations import Scope
from storage.repositories.reports import CROSSTAB_KEYS, ReportRepository, Selection, TextRow, TicketCounts

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEXTS_PER_QUESTION = 500  # the newest ones; `texts_total` says how many there are
TYPES = {
    "single_choice": "single", "yes_no": "single", "multi_choice": "multi", "rating": "rating",
    "nps": "nps", "number": "number", "text": "text",
}  # fmt: skip
CHOICE = frozenset({"single_choice", "yes_no", "multi_choice", "rating"})
YES_NO_LABELS = {"yes": ("是", "Yes"), "no": ("否", "No")}
NO_TAG = ("（无标签）", "(no tag)")
NO_CHANNEL = ("（未记录）", "(not recorded)")
NO_ORGANISATION = ("（无机构）", "(no organisation)")


class ReportError(ValueError):
    """A message for people (Chinese, then English); nothing was reported."""


class ReportNotFound(ReportError):
    """An organisation, flow, campaign or category that does not exist or lies outside the
    caller's scope (said the same way, so a district learns nothing of another's)."""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def window(since: date | datetime | None, until: date | datetime | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) as aware instants: days in Asia/Shanghai with both ends included."""

    def instant(value: date | datetime | None, *, end: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
        return _day_start(value + timedelta(days=1) if end else value)

    start, stop = instant(since, end=False), instant(until, end=True)
    if start is not None and stop is not None and start >= stop:
        raise ReportError(f"起始日期晚于结束日期 since ({since}) is after until ({until})")
    return start, stop


def parse_day(value: str, name: str) -> date | datetime:
    """A day (2026-06-01) or an instant (2026-06-01T08:00, with or without its zone)."""
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"日期格式不对 {name}: {value!r} is not a date (YYYY-MM-DD)") from None


def share(count: int, of: int) -> float:
    return round(count / of, 4) if of else 0.0


@dataclass
class _Catalogue:
    """One flow's questions over the versions counted: newest wording first."""

    flow: Flow
    newest: FlowDefinition
    versions: list[int]
    questions: list[Question] = field(default_factory=list)
    options: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # qid → (code, zh, en)


def _catalogue(flow: Flow, definitions: list[tuple[int, FlowDefinition]], used: list[int]) -> _Catalogue:
    chosen = [(v, d) for v, d in definitions if v in used] or definitions[-1:]
    chosen.sort(key=lambda vd: vd[0], reverse=True)
    cat = _Catalogue(flow, chosen[0][1], sorted(used))
    seen: dict[str, Question] = {}
    for _, definition in chosen:
        for q in definition.questions:
            if q.type == "info":
                continue
            if q.id not in seen:
                seen[q.id] = q
                cat.questions.append(q)
                cat.options[q.id] = []
            known = {code for code, _, _ in cat.options[q.id]}
            if q.type == "yes_no":
                extra = [(code, *YES_NO_LABELS[code]) for code in ("yes", "no")]
            else:
                extra = [(o.code, o.label.zh, o.label.en) for o in q.options]
            cat.options[q.id] += [o for o in extra if o[0] not in known]
    return cat


def _numbers(distribution: Mapping[float, int]) -> dict[str, Any]:
    values = sorted(distribution)
    count = sum(distribution.values())

    def plain(v: float) -> int | float:
        return int(v) if float(v).is_integer() else v

    if not count:
        return {"count": 0, "mean": None, "median": None, "min": None, "max": None, "distribution": []}
    total = sum(v * n for v, n in distribution.items())
    # The median of the expanded values, found by walking the counts (never expanded).
    middle = [(count - 1) // 2, count // 2]
    picks: list[float] = []
    seen = 0
    for v in values:
        n = distribution[v]
        picks += [v for m in middle if seen <= m < seen + n]
        seen += n
    return {
        "count": count,
        "mean": round(total / count, 2),
        "median": plain(statistics.fmean(picks)),
        "min": plain(values[0]),
        "max": plain(values[-1]),
        "distribution": [{"value": plain(v), "count": distribution[v]} for v in values],
    }


def _nps(distribution: Mapping[float, int]) -> dict[str, Any]:
    promoters = sum(n for v, n in distribution.items() if 9 <= v <= 10)
    passives = sum(n for v, n in distribution.items() if 7 <= v < 9)
    detractors = sum(n for v, n in distribution.items() if 0 <= v < 7)
    total = promoters + passives + detractors
    score = round((promoters - detractors) * 100 / total, 1) if total else None
    return {"score": score, "promoters": promoters, "passives": passives, "detractors": detractors}


def _tickets(counts: TicketCounts | None) -> dict[str, int]:
    c = counts or TicketCounts()
    return {"opened": c.opened, "resolved": c.resolved, "confirmed": c.confirmed, "reopened": c.reopened,
            "passed_up": c.passed_up}  # fmt: skip


async def _flow_visible(s: AsyncSession, flow: Flow, scope: Scope) -> bool:
    if flow.organisation_id is None or scope.path == "/":
        return True
    if flow.organisation_id in scope.ids_above_and_self():
        return True
    owner = await s.get(Organisation, flow.organisation_id)
    return owner is not None and owner.path.startswith(scope.path)


async def _campaign_visible(s: AsyncSession, campaign: Campaign, scope: Scope) -> bool:
    if scope.path == "/" or campaign.organisation_id in scope.ids_above_and_self():
        return True  # a city campaign reaches a district's people: they see their part
    owner = await s.get(Organisation, campaign.organisation_id)
    return owner is not None and owner.path.startswith(scope.path)


async def _find_flow(s: AsyncSession, flow_id: int | str, scope: Scope) -> Flow:
    text = str(flow_id).strip()
    flow = await s.get(Flow, int(text)) if text.isdigit() else None
    if flow is None:
        flow = await s.scalar(select(Flow).where(Flow.code == text))
    if flow is None or not await _flow_visible(s, flow, scope):
        raise ReportNotFound(f"未知的流程 unknown flow: {flow_id}")
    return flow


async def build_report(
    s: AsyncSession,
    *,
    scope: Scope,
    flow_id: int | str | None = None,
    category: str | None = None,
    org: str | None = None,
    campaign_id: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    crosstab_by: str | None = None,
    question: str | None = None,
    texts_limit: int = TEXTS_PER_QUESTION,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The figures for the sessions the filters select (module notes), as the contract's
    dict. `crosstab_by` (category, organisation, tag, channel) with `question`: that
    question's answers counted by it. ReportError for an unknown or unseen filter."""
    start, stop = window(since, until)
    if (crosstab_by is None) != (question is None):
        raise ReportError("交叉表需要同时给出 --by 和 --question a cross-tab needs both by and question")
    if crosstab_by is not None and crosstab_by not in CROSSTAB_KEYS:
        raise ReportError(f"无法按此交叉 cannot cross-tab by {crosstab_by!r}: one of {', '.join(CROSSTAB_KEYS)}")

    org_path = None
    if org is not None:
        organisation = await s.scalar(select(Organisation).where(Organisation.code == org))
        if organisation is None or not (scope.path == "/" or organisation.path.startswith(scope.path)):
            raise ReportNotFound(f"未知的机构 unknown organisation: {org}")
        org_path = organisation.path

    campaign = None
    if campaign_id is not None:
        campaign = await s.get(Campaign, campaign_id)
        if campaign is None or not await _campaign_visible(s, campaign, scope):
            raise ReportNotFound(f"未知的活动 unknown campaign: {campaign_id}")

    named = await _find_flow(s, flow_id, scope) if flow_id is not None else None
    query = select(Flow).order_by(Flow.id)
    if named is not None:
        query = query.where(Flow.id == named.id)
    if campaign is not None:
        query = query.where(Flow.id == campaign.flow_id)
    if category is not None:
        category = await category_by_name(s, category) or category  # "人道救助" as well as its code
        if await s.scalar(select(Flow.id).where(Flow.category == category).limit(1)) is None:
            known = sorted(set(await s.scalars(select(Flow.category))))
            raise ReportNotFound(f"未知的类别 unknown category: {category} (known: {', '.join(known)})")
        query = query.where(Flow.category == category)
    flows = [f for f in await s.scalars(query) if await _flow_visible(s, f, scope)]

    definitions: dict[int, list[tuple[int, FlowDefinition]]] = {}
    if flows:
        rows = await s.execute(
            select(FlowVersion.flow_id, FlowVersion.version, FlowVersion.definition)
            .where(FlowVersion.flow_id.in_([f.id for f in flows]))
            .order_by(FlowVersion.flow_id, FlowVersion.version)
        )
        for fid, version, definition in rows:
            definitions.setdefault(fid, []).append((version, FlowDefinition.model_validate(definition)))
    flows = [
        f for f in flows
        if f.id in definitions and (named is not None or definitions[f.id][-1][1].kind == "survey")
    ]  # fmt: skip

    sel = Selection([f.id for f in flows], scope, org_path, campaign_id, start, stop)
    repo = ReportRepository(s)
    by_version = await repo.sessions(sel)
    members = await repo.members(sel)
    used: dict[int, list[int]] = {}
    for fid, version in by_version:
        used.setdefault(fid, []).append(version)
    # A flow nobody took (in this selection) is left out, unless it was asked for by name.
    flows = [f for f in flows if f.id in used or f.id in members or named is not None]
    cats = {f.id: _catalogue(f, definitions[f.id], used.get(f.id, [])) for f in flows}

    def of_types(types: frozenset[str]) -> dict[int, list[str]]:
        return {fid: [q.id for q in c.questions if q.type in types] for fid, c in cats.items()}

    text_questions = of_types(frozenset({"text"}))
    counted = await repo.answer_figures(
        sel, choices=of_types(CHOICE), numbers=of_types(frozenset({"number", "nps"})), texts=text_questions
    )
    answer_counts, choices, numbers = counted.counts, counted.choices, counted.numbers
    texts_of: dict[tuple[int, str], list[TextRow]] = {}
    for row in await repo.texts(sel, text_questions, limit=texts_limit):
        texts_of.setdefault((row.flow_id, row.question_id), []).append(row)
    # Opinions gathered: the free texts that say something ("没有", "挺好的" are answers, not
    # opinions). Counted per distinct wording, so the check runs once per wording.
    said_nothing: dict[tuple[int, str], int] = {}
    for (fid, qid, text), n in counted.quiet_texts.items():
        if says_nothing(text):
            said_nothing[(fid, qid)] = said_nothing.get((fid, qid), 0) + n
    tickets = await repo.tickets(sel)

    out_flows = []
    totals: dict[str, Any] = dict.fromkeys(("invited", "reached", "started", "completed", "declined", "opted_out",
                                            "opinions"), 0)  # fmt: skip
    totals["tickets"] = _tickets(None)
    for f in flows:
        cat = cats[f.id]
        versions = [c for (fid, _), c in by_version.items() if fid == f.id]
        m = members.get(f.id)
        figures = {
            "invited": m.invited if m else 0,
            "reached": m.reached if m else 0,
            "started": sum(c.started for c in versions),
            "completed": sum(c.completed for c in versions),
            "declined": sum(c.declined for c in versions) + (m.declined if m else 0),
            "opted_out": sum(c.opted_out for c in versions) + (m.opted_out if m else 0),
        }
        questions = []
        for q in cat.questions:
            counts = answer_counts.get((f.id, q.id))
            answered = counts.answered if counts else 0
            item: dict[str, Any] = {
                "id": q.id, "type": TYPES[q.type], "question_type": q.type,
                "text": q.prompt.zh, "text_en": q.prompt.en,
                "label": (q.report_label or q.prompt).zh, "label_en": (q.report_label or q.prompt).en,
                "answered": answered, "skipped": counts.skipped if counts else 0,
                "unreadable": counts.unreadable if counts else 0,
            }  # fmt: skip
            if q.type in CHOICE:
                picked = {code: choices.get((f.id, q.id, code), 0) for code, _, _ in cat.options[q.id]}
                item["options"] = [
                    {
                        "code": code,
                        "label": zh,
                        "label_en": en,
                        "count": picked[code],
                        "share": share(picked[code], answered),
                    }
                    for code, zh, en in cat.options[q.id]
                ]
                if q.report_groups:
                    # Single answers only (the linter allows no groups on multiple choice), so
                    # a group's count is the sum of its options'.
                    item["groups"] = [
                        {"label": g.label.zh, "label_en": g.label.en, "codes": list(g.codes),
                         "count": (n := sum(picked.get(c, 0) for c in g.codes)), "share": share(n, answered)}
                        for g in q.report_groups
                    ]  # fmt: skip
            if q.type in ("number", "nps"):
                distribution = numbers.get((f.id, q.id), {})
                item["numbers"] = _numbers(distribution)
                if q.type == "nps":
                    item["nps"] = _nps(distribution)
            if q.type == "text":
                item["texts"] = [
                    {"answer_id": t.answer_id, "text": t.text, "kind": t.kind or "none", "ticket_id": t.ticket_id,
                     "at": t.at.astimezone(SHANGHAI).isoformat()}
                    for t in texts_of.get((f.id, q.id), ())
                ]  # fmt: skip
                item["texts_total"] = answered
                item["opinions"] = answered - said_nothing.get((f.id, q.id), 0)
            questions.append(item)
        opinions = sum(q["opinions"] for q in questions if q["type"] == "text")
        ticket_figures = _tickets(tickets.get(f.id))
        out_flows.append({
            "flow_id": f.id, "code": f.code, "category": f.category,
            "category_label": cat.newest.category.name.zh, "category_label_en": cat.newest.category.name.en,
            "title": cat.newest.title.zh, "title_en": cat.newest.title.en, "versions": cat.versions,
            **figures, "opinions": opinions, "questions": questions, "tickets": ticket_figures,
        })  # fmt: skip
        for key, value in figures.items():
            totals[key] += value
        totals["opinions"] += opinions
        for key, value in ticket_figures.items():
            totals["tickets"][key] += value

    left_out = await repo.test_sessions(sel)
    crosstab = None
    if crosstab_by is not None and question is not None:
        crosstab = await _crosstab(s, repo, sel, cats, crosstab_by, question)

    return {
        "generated_at": (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "filters": {
            "flow_id": named.id if named is not None else None,
            "category": category,
            "org": org,
            "campaign_id": campaign_id,
            "since": since.isoformat() if since is not None else None,
            "until": until.isoformat() if until is not None else None,
        },  # fmt: skip
        "totals": totals,
        "flows": out_flows,
        "crosstab": crosstab,
        "test_sessions_left_out": left_out,
    }


async def _crosstab(
    s: AsyncSession, repo: ReportRepository, sel: Selection, cats: dict[int, _Catalogue], by: str, question: str
) -> dict[str, Any]:
    having = {fid: [question] for fid, c in cats.items() if any(q.id == question for q in c.questions)}
    if not having:
        raise ReportError(f"所选流程中没有这个问题 no flow in this report asks question {question!r}")
    counts, answered = await repo.crosstab(sel, having, by)
    options: dict[str, tuple[str, str]] = {}
    for fid in having:
        for code, zh, en in cats[fid].options[question]:
            options.setdefault(code, (zh, en))
    labels: dict[str | None, tuple[str, str]] = {}
    if by == "category":
        for c in cats.values():
            labels.setdefault(c.flow.category, (c.newest.category.name.zh, c.newest.category.name.en))
    elif by == "organisation":
        ids = [int(k) for k in answered if k is not None]
        orgs = {o.id: o for o in await s.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
        labels = {str(i): (o.name, o.code) for i, o in orgs.items()}
    default = {"tag": NO_TAG, "channel": NO_CHANNEL, "organisation": NO_ORGANISATION}.get(by, ("", ""))
    rows = []
    for key in sorted(answered, key=lambda k: (k is None, str(k))):
        zh, en = labels.get(key, (key, key) if key is not None else default)
        shown_key: str | None = key
        if by == "organisation" and key is not None:
            shown_key = en  # the organisation's code, never its internal id
            en = zh
        rows.append({"key": shown_key, "label": zh, "label_en": en, "counts": counts.get(key, {}),
                     "answered": answered[key]})  # fmt: skip
    return {
        "question_id": question, "by": by,
        "options": [{"code": code, "label": zh, "label_en": en} for code, (zh, en) in options.items()],
        "rows": rows,
    }  # fmt: skip


__all__ = ["SHANGHAI", "ReportError", "ReportNotFound", "build_report", "parse_day", "share", "window"]
