"""Tickets as staff read them (console pages and the JSON API): lists with filters, one
ticket with the whole conversation, queues with counts and SLA state.

Everything returned is a plain frozen dataclass, never an ORM object: the models'
relationships are lazy="raise", and a template touching one would fail at render time,
after the transaction. Every read takes the caller's `Scope`; a ticket outside it is
None, the same as one that does not exist.

Phone numbers: only admins see them whole; everyone else sees the last four digits,
enough to tell callers apart on the phone without copying the number out of the console.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.tickets import TicketError, breaches, check_version
from flows.lifecycles import TICKET_OPEN, ticket_triggers
from storage.models import (
    Answer,
    ChannelIdentity,
    Flow,
    FlowVersion,
    InboundMessage,
    Organisation,
    Respondent,
    StaffUser,
    SurveySession,
    Ticket,
    TicketQueue,
)
from storage.repositories.organisations import Scope, in_scope
from storage.repositories.tickets import TicketFilter, TicketRepository, late_at

# The moves staff make from the console; the others are the scheduler's (escalate) or
# mostly the respondent's (confirm, leave_unconfirmed).
STAFF_MOVES = ("assign", "start", "resolve", "reopen")
CONVERSATION_LIMIT = 200  # a respondent's latest inbound messages shown with a ticket


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    status: str
    priority: int
    kind: str
    category: str | None
    text: str
    version: int
    organisation_code: str | None
    organisation_name: str | None
    queue_id: int | None
    queue_code: str | None
    queue_name: str | None
    assignee_username: str | None
    assignee_name: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    reopen_count: int
    escalation_level: int
    overdue: tuple[str, ...]  # "first_response", "resolution": due times an open ticket is past

    @property
    def is_open(self) -> bool:
        return self.status in TICKET_OPEN


@dataclass(frozen=True, slots=True)
class TicketPage:
    rows: list[TicketRow]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class RespondentView:
    id: int
    name: str | None
    phone: str | None  # masked unless the reader is an admin
    category: str
    organisation_name: str | None
    channels: list[str]
    opted_out: bool
    unreachable_reason: str | None
    is_test: bool


@dataclass(frozen=True, slots=True)
class SurveyView:
    session_id: int
    flow_code: str
    title_zh: str
    title_en: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class AnswerView:
    question_id: str
    prompt_zh: str
    prompt_en: str
    value: str  # the parsed value as text ("" when skipped or not understood)
    raw_text: str  # every text the respondent typed for the question
    skipped: bool
    text_kind: str | None
    answered_at: datetime
    raised_ticket: bool  # the question this ticket came from


@dataclass(frozen=True, slots=True)
class InboundView:
    at: datetime
    channel: str
    kind: str
    text: str | None


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    actor: str  # a staff member's name, "system", or "受访者 respondent"
    kind: str
    from_status: str | None
    to_status: str | None
    text: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TicketDetailView:
    ticket: TicketRow
    question_id: str | None
    context: dict[str, Any]
    respondent: RespondentView | None
    survey: SurveyView | None
    answers: list[AnswerView]
    conversation: list[InboundView]
    history: list[EventView]
    triggers: list[str]  # the moves of STAFF_MOVES its status allows now


@dataclass(frozen=True, slots=True)
class QueueCount:
    queue_id: int | None
    code: str | None
    name: str | None
    organisation_code: str | None
    organisation_name: str | None
    first_response_minutes: int | None
    resolution_minutes: int | None
    open: int
    unassigned: int
    overdue: int  # open tickets past a due time now
    by_status: dict[str, int]


# --- lists ---------------------------------------------------------------------------------


async def staff_id_of(s: AsyncSession, username: str) -> int | None:
    return await s.scalar(select(StaffUser.id).where(StaffUser.username == username.strip().lower()))


async def find_tickets(
    s: AsyncSession,
    scope: Scope,
    *,
    now: datetime,
    status: str | Collection[str] | None = None,
    queue_id: int | None = None,
    category: str | None = None,
    assignee_id: int | None = None,
    q: str | None = None,
    older_than: datetime | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> TicketPage:
    """Most urgent first, then oldest (TicketRepository.list); `assignee_id` 0: unassigned;
    `overdue`: only tickets past a deadline now."""
    repo = TicketRepository(s)
    overdue_at = now if overdue else None
    tickets = await repo.list(
        scope, status=status, queue=queue_id, category=category, assignee=assignee_id, q=q,
        older_than=older_than, overdue_at=overdue_at, limit=limit, offset=offset,
    )  # fmt: skip
    total = await repo.count(scope, TicketFilter(status, queue_id, category, assignee_id, q, older_than, overdue_at))
    return TicketPage(rows=await _rows(s, tickets, now), total=total, limit=limit, offset=offset)


async def _rows(s: AsyncSession, tickets: list[Ticket], now: datetime) -> list[TicketRow]:
    organisations = await _names(s, Organisation, (t.organisation_id for t in tickets))
    queues = await _names(s, TicketQueue, (t.queue_id for t in tickets))
    staff = await _staff_names(s, (t.assignee_id for t in tickets))
    return [_row(t, organisations, queues, staff, now) for t in tickets]


def _row(
    t: Ticket,
    organisations: dict[int, tuple[str, str]],
    queues: dict[int, tuple[str, str]],
    staff: dict[int, tuple[str, str]],
    now: datetime,
) -> TicketRow:
    org = organisations.get(t.organisation_id) if t.organisation_id is not None else None
    queue = queues.get(t.queue_id) if t.queue_id is not None else None
    assignee = staff.get(t.assignee_id) if t.assignee_id is not None else None
    return TicketRow(
        id=t.id, status=t.status, priority=t.priority, kind=t.kind, category=t.category, text=t.text,
        version=t.version, organisation_code=org[0] if org else None, organisation_name=org[1] if org else None,
        queue_id=t.queue_id, queue_code=queue[0] if queue else None, queue_name=queue[1] if queue else None,
        assignee_username=assignee[0] if assignee else None, assignee_name=assignee[1] if assignee else None,
        created_at=t.created_at, updated_at=t.updated_at, first_response_due_at=t.first_response_due_at,
        resolution_due_at=t.resolution_due_at, first_response_at=t.first_response_at, resolved_at=t.resolved_at,
        resolution=t.resolution, reopen_count=t.reopen_count, escalation_level=t.escalation_level,
        overdue=tuple(breaches(t, now)),
    )  # fmt: skip


async def _names(s: AsyncSession, model: Any, ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await s.execute(select(model.id, model.code, model.name).where(model.id.in_(wanted)))
    return {row.id: (row.code, row.name) for row in rows}


async def _staff_names(s: AsyncSession, ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await s.execute(
        select(StaffUser.id, StaffUser.username, StaffUser.display_name).where(StaffUser.id.in_(wanted))
    )
    return {row.id: (row.username, row.display_name or row.username) for row in rows}


# --- one ticket ----------------------------------------------------------------------------


async def ticket_in_scope(s: AsyncSession, scope: Scope, ticket_id: int) -> Ticket | None:
    """The ticket to hand to bot.services.tickets for a change; None outside `scope`."""
    return await TicketRepository(s).get(ticket_id, scope)


async def ticket_detail(
    s: AsyncSession, scope: Scope, ticket_id: int, *, now: datetime, full_phone: bool
) -> TicketDetailView | None:
    ticket = await TicketRepository(s).get(ticket_id, scope)
    if ticket is None:
        return None
    respondent = await s.get(Respondent, ticket.respondent_id)
    session = (
        await s.get(SurveySession, ticket.session_id)
        if ticket.session_id is not None
        else await s.scalar(
            select(SurveySession)
            .where(SurveySession.respondent_id == ticket.respondent_id)
            .order_by(SurveySession.started_at.desc(), SurveySession.id.desc())
            .limit(1)
        )
    )
    survey, answers = await _survey(s, session, ticket) if session is not None else (None, [])
    events = await TicketRepository(s).events(ticket.id)
    staff = await _staff_names(s, (e.staff_id for e in events))
    staff |= await _staff_names(s, (_int((e.data or {}).get("assignee_id")) for e in events))
    return TicketDetailView(
        ticket=(await _rows(s, [ticket], now))[0],
        question_id=ticket.question_id,
        context=dict(ticket.context or {}),
        respondent=await _respondent(s, respondent, full_phone=full_phone) if respondent is not None else None,
        survey=survey,
        answers=answers,
        conversation=await _conversation(s, ticket.respondent_id),
        history=[_event(e, staff) for e in events],
        triggers=[t for t in ticket_triggers(ticket.status) if t in STAFF_MOVES],
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    return "*" * max(0, len(digits) - 4) + "".join(digits[-4:]) if len(digits) > 4 else "****"


async def _respondent(s: AsyncSession, r: Respondent, *, full_phone: bool) -> RespondentView:
    organisation = await s.get(Organisation, r.organisation_id) if r.organisation_id is not None else None
    channels = await s.execute(
        select(ChannelIdentity.channel, ChannelIdentity.account)
        .where(ChannelIdentity.respondent_id == r.id)
        .order_by(ChannelIdentity.id)
    )
    return RespondentView(
        id=r.id,
        name=r.name,
        phone=r.phone if full_phone else mask_phone(r.phone),
        category=r.category,
        organisation_name=organisation.name if organisation is not None else None,
        channels=[f"{channel}:{account}" for channel, account in channels],
        opted_out=r.opted_out_at is not None,
        unreachable_reason=r.unreachable_reason if r.unreachable_at is not None else None,
        is_test=r.is_test,
    )


async def _survey(s: AsyncSession, session: SurveySession, ticket: Ticket) -> tuple[SurveyView, list[AnswerView]]:
    version = await s.get(FlowVersion, session.flow_version_id)
    flow = await s.get(Flow, version.flow_id) if version is not None else None
    definition = version.definition if version is not None else {}
    title = definition.get("title") or {}
    prompts = {q.get("id"): q.get("prompt") or {} for q in definition.get("questions") or []}
    order = {qid: i for i, qid in enumerate(prompts)}
    rows = list(await s.scalars(select(Answer).where(Answer.session_id == session.id)))
    rows.sort(key=lambda a: (order.get(a.question_id, len(order)), a.answered_at))
    survey = SurveyView(
        session_id=session.id,
        flow_code=flow.code if flow is not None else "",
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        version=version.version if version is not None else 0,
        status=session.status,
        started_at=session.started_at,
        ended_at=session.ended_at,
    )
    answers = [
        AnswerView(
            question_id=a.question_id,
            prompt_zh=str(prompts.get(a.question_id, {}).get("zh", a.question_id)),
            prompt_en=str(prompts.get(a.question_id, {}).get("en", "")),
            value=_value_text(a.value),
            raw_text=a.raw_text,
            skipped=a.skipped,
            text_kind=a.text_kind,
            answered_at=a.answered_at,
            raised_ticket=a.question_id == ticket.question_id and session.id == ticket.session_id,
        )
        for a in rows
    ]
    return survey, answers


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


async def _conversation(s: AsyncSession, respondent_id: int) -> list[InboundView]:
    rows = await s.execute(
        select(InboundMessage.received_at, InboundMessage.channel, InboundMessage.kind, InboundMessage.text)
        .where(InboundMessage.respondent_id == respondent_id)
        .order_by(InboundMessage.id.desc())
        .limit(CONVERSATION_LIMIT)
    )
    return [InboundView(at=at, channel=channel, kind=kind, text=text) for at, channel, kind, text in rows][::-1]


def _event(e: Any, staff: dict[int, tuple[str, str]]) -> EventView:
    data = dict(e.data or {})
    assignee = _int(data.get("assignee_id"))
    if assignee is not None and assignee in staff:
        data["assignee_name"] = staff[assignee][1]
    if e.staff_id is not None and e.staff_id in staff:
        actor = staff[e.staff_id][1]
    elif e.actor.startswith("respondent:"):
        actor = "受访者 respondent"
    else:
        actor = e.actor
    return EventView(
        at=e.at, actor=actor, kind=e.kind, from_status=e.from_status, to_status=e.to_status, text=e.text, data=data
    )


# --- what is waiting ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkCounts:
    """What waits for someone in `scope`, for the console's home page."""

    mine: int  # open tickets assigned to them
    unassigned: int  # open tickets nobody has taken
    overdue: int  # open tickets past a deadline now
    awaiting_confirmation: int  # resolved, the respondent not yet asked or not yet answered


async def work_counts(s: AsyncSession, scope: Scope, *, staff_id: int, now: datetime) -> WorkCounts:
    repo = TicketRepository(s)
    return WorkCounts(
        mine=await repo.count(scope, TicketFilter("open", assignee=staff_id)),
        unassigned=await repo.count(scope, TicketFilter("open", assignee=0)),
        overdue=await repo.count(scope, TicketFilter("open", overdue_at=now)),
        awaiting_confirmation=await repo.count(scope, TicketFilter("resolved")),
    )


# --- queues --------------------------------------------------------------------------------


async def queue_counts(s: AsyncSession, scope: Scope, *, now: datetime) -> list[QueueCount]:
    """The queues holding tickets of `scope` (a district's ticket may wait in the city's
    queue) and the queues of the organisations in it, with open, unassigned and overdue
    counts; busiest first."""
    mine = in_scope(Ticket.organisation_id, scope)
    by_status: dict[int | None, dict[str, int]] = {}
    for (queue_id, status), n in (await TicketRepository(s).counts(scope)).items():
        by_status.setdefault(queue_id, {})[status] = n
    is_open = Ticket.status.in_(sorted(TICKET_OPEN))
    overdue = await _per_queue(s, mine, is_open, late_at(now))
    unassigned = await _per_queue(s, mine, is_open, Ticket.assignee_id.is_(None))
    own = select(TicketQueue.id).join(Organisation, Organisation.id == TicketQueue.organisation_id)
    if scope.path != "/":
        own = own.where(Organisation.path.startswith(scope.path))
    ids = set(by_status) | set(await s.scalars(own))
    known = [i for i in ids if i is not None]
    queues = {q.id: q for q in await s.scalars(select(TicketQueue).where(TicketQueue.id.in_(known)))}
    organisations = await _names(s, Organisation, (q.organisation_id for q in queues.values()))
    out = []
    for queue_id in ids:
        q = queues.get(queue_id) if queue_id is not None else None
        org = organisations.get(q.organisation_id) if q is not None else None
        statuses = by_status.get(queue_id, {})
        out.append(
            QueueCount(
                queue_id=queue_id, code=q.code if q else None, name=q.name if q else None,
                organisation_code=org[0] if org else None, organisation_name=org[1] if org else None,
                first_response_minutes=q.first_response_minutes if q else None,
                resolution_minutes=q.resolution_minutes if q else None,
                open=sum(n for st, n in statuses.items() if st in TICKET_OPEN),
                unassigned=unassigned.get(queue_id, 0), overdue=overdue.get(queue_id, 0),
                by_status=statuses,
            )  # fmt: skip
        )
    out.sort(key=lambda c: (-c.overdue, -c.open, c.organisation_code or "", c.code or ""))
    return out


async def _per_queue(s: AsyncSession, *where: ColumnElement[bool]) -> dict[int | None, int]:
    rows = await s.execute(select(Ticket.queue_id, func.count()).where(*where).group_by(Ticket.queue_id))
    return {queue_id: int(n) for queue_id, n in rows}


async def ticket_at_version(s: AsyncSession, ticket: Ticket, expected_version: int | None) -> Ticket:
    """The ticket locked until the transaction ends, refused with `StaleTicket` when it is
    no longer at `expected_version` (None: any). For changes the service does not
    version (notes, messages) but a form filled in on an older page must not make."""
    fresh = await TicketRepository(s).lock(ticket.id)
    if fresh is None:
        raise TicketError(f"工单不存在 no such ticket: #{ticket.id}")
    check_version(fresh, expected_version)
    return fresh


@dataclass(frozen=True, slots=True)
class Colleague:
    username: str
    name: str
    organisation_name: str


async def colleagues_for(s: AsyncSession, scope: Scope, ticket_id: int) -> list[Colleague]:
    """Who in `scope` may be given the ticket: active admins and staff whose organisation
    is the ticket's or above it (the service refuses anyone else)."""
    ticket = await TicketRepository(s).get(ticket_id, scope)
    if ticket is None or ticket.organisation_id is None:
        return []
    home = await s.get(Organisation, ticket.organisation_id)
    if home is None:
        return []
    rows = await s.execute(
        select(StaffUser.username, StaffUser.display_name, Organisation.name, Organisation.path)
        .join(Organisation, Organisation.id == StaffUser.organisation_id)
        .where(StaffUser.disabled_at.is_(None), StaffUser.role.in_(("admin", "staff")))
        .order_by(Organisation.path, StaffUser.username)
    )
    return [
        Colleague(username, name or username, org_name)
        for username, name, org_name, path in rows
        if path.startswith(scope.path) and home.path.startswith(path)
    ]
