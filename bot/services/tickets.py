"""Tickets: the ONE place a ticket's status changes.

Every move goes through the lifecycle machine (`flows.lifecycles.ticket_move`), appends to
the ticket's history (append-only `TicketEvent`s) and bumps `version`; a staff member's
form carries the version it was filled in on, and a move on an older one is refused
(`StaleTicket`) without changing anything. Notes and messages are history entries too;
they change no status, so they neither need nor bump a version.

Who may act (`Actor`): a `StaffUser` — not a viewer, not disabled, the ticket's
organisation in their scope — or "system" (the scheduler), or "respondent:<id>" for the
ticket's own respondent (confirm, reopen). Anything else raises `NotPermitted`.

Decisions:
- First response is the first staff action recorded on the ticket that takes it up for the
  respondent: an assignment made by a staff member, or a message to the respondent (also
  when it could not be delivered: the staff member answered; the person is unreachable).
  Staff mostly call people back by phone, which huifang cannot see; the assignment is the
  recorded moment a named person took the case.
- A ticket belongs to its respondent's organisation for good (scope, figures); its queue
  may belong to an ancestor (routing) and moves up on an SLA breach. A respondent without
  an organisation counts as the root organisation's (the city society's); with no
  organisations at all the ticket has neither, and keeps the default SLAs.
- An SLA breach moves the ticket to the parent organisation's matching queue, keeps its
  assignee (who knows the case; the parent's staff may reassign), raises the priority one
  step and restarts its clocks from the new queue, so it is escalated again only when those
  pass too. At the root it stays in its queue but is marked the same way.
- Reopening restarts the resolution clock from the ticket's queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import refusal
from bot.services import ticket_followup, ticket_notices
from bot.services.outbound import queue_message
from bot.services.ticket_config import TicketConfig
from bot.services.ticket_queues import queue_for, root_organisation_id
from flows.lifecycles import TICKET_OPEN, MachineError, ticket_move, ticket_triggers
from storage.models import ChannelIdentity, InboundMessage, Organisation, Respondent, StaffUser, Ticket, TicketEvent
from storage.models.ticket import KINDS, PRIORITIES
from storage.repositories.organisations import Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.ticket_queues import QueueRepository
from storage.repositories.tickets import TicketRepository

Actor = StaffUser | str  # a staff member, "system", or "respondent:<id>"
SYSTEM = "system"
NEW = "new"  # the lifecycle machine's initial state
ACTING_ROLES = frozenset({"staff", "admin"})


class TicketError(ValueError):
    """A message for people (Chinese, then English); nothing was changed."""


class NotPermitted(TicketError):
    pass


class StaleTicket(TicketError):
    pass


class IllegalMove(TicketError):
    pass


@dataclass(frozen=True, slots=True)
class _Who:
    label: str
    staff: StaffUser | None


# --- who may act -------------------------------------------------------------------------


async def scope_of_user(s: AsyncSession, user: StaffUser) -> Scope:
    organisation = await s.get(Organisation, user.organisation_id)
    if organisation is None:  # the foreign key makes this impossible short of a deleted row
        raise NotPermitted("账号没有所属机构 the account has no organisation")
    return Scope.of(organisation)


async def covers(s: AsyncSession, user: StaffUser, organisation_id: int | None) -> bool:
    """Whether `organisation_id` lies in the user's scope (their organisation or below)."""
    scope = await scope_of_user(s, user)
    if organisation_id is None:
        # As `in_scope`: a ticket of no organisation (opened before there were any) is the
        # city society's, the oldest root.
        return scope.ids_above_and_self() == [await root_organisation_id(s)]
    organisation = await s.get(Organisation, organisation_id)
    return organisation is not None and organisation.path.startswith(scope.path)


async def _check(s: AsyncSession, ticket: Ticket, actor: Actor, *, allow: frozenset[str]) -> _Who:
    """`allow`: which kinds of actor this operation accepts ("staff", "system", "respondent")."""
    if isinstance(actor, StaffUser):
        if "staff" not in allow:
            raise NotPermitted("工作人员不能执行此操作 staff cannot do this")
        if actor.disabled_at is not None:
            raise NotPermitted("账号已停用 the account is disabled")
        if actor.role not in ACTING_ROLES:
            raise NotPermitted("只读账号不能处理工单 a viewer cannot act on tickets")
        if not await covers(s, actor, ticket.organisation_id):
            raise NotPermitted("该工单不在您的机构范围内 this ticket is outside your organisation")
        return _Who(f"staff:{actor.id}", actor)
    if actor == SYSTEM and "system" in allow:
        return _Who(SYSTEM, None)
    if actor.startswith("respondent:") and "respondent" in allow:
        if actor != f"respondent:{ticket.respondent_id}":
            raise NotPermitted("只有提出问题的受访者本人可以 only the ticket's own respondent may do this")
        return _Who(actor, None)
    raise NotPermitted(f"不允许的操作者 not permitted: {actor}")


STAFF = frozenset({"staff"})
STAFF_OR_SYSTEM = frozenset({"staff", "system"})
ANYONE = frozenset({"staff", "system", "respondent"})
STAFF_OR_RESPONDENT = frozenset({"staff", "respondent"})


# --- the one way a status changes ----------------------------------------------------------


async def _locked(s: AsyncSession, ticket: Ticket) -> Ticket:
    fresh = await TicketRepository(s).lock(ticket.id)
    if fresh is None:
        raise TicketError(f"工单不存在 no such ticket: #{ticket.id}")
    return fresh


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(
            f"工单 #{ticket.id} 已被他人修改（第 {ticket.version} 版，您看到的是第 {expected_version} 版），"
            f"请刷新后再操作 ticket #{ticket.id} was changed by someone else (version {ticket.version}, "
            f"you saw {expected_version}): reload it and try again"
        )


def _next_status(ticket: Ticket, trigger: str) -> str:
    try:
        return ticket_move(ticket.status, trigger)
    except MachineError:
        allowed = ", ".join(ticket_triggers(ticket.status)) or "—"
        raise IllegalMove(
            f"工单 #{ticket.id} 当前状态为 {ticket.status}，不能执行 {trigger}（可以：{allowed}） "
            f"ticket #{ticket.id} is {ticket.status}: {trigger} is not allowed (allowed: {allowed})"
        ) from None


async def _move(
    s: AsyncSession,
    ticket: Ticket,
    trigger: str,
    *,
    by: Actor,
    allow: frozenset[str],
    expected_version: int | None,
    now: datetime,
    text: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[Ticket, _Who, str]:
    """Lock, check who, check the version, check the move; then change status and version
    and write the history entry. Returns the ticket, who acted and the status before; the
    caller sets the move's other fields in the same transaction."""
    ticket = await _locked(s, ticket)
    who = await _check(s, ticket, by, allow=allow)
    check_version(ticket, expected_version)
    before = ticket.status
    ticket.status = _next_status(ticket, trigger)
    ticket.version += 1
    ticket.updated_at = now
    await TicketRepository(s).add_event(
        ticket.id,
        at=now,
        actor=who.label,
        staff_id=who.staff.id if who.staff is not None else None,
        kind="moved",
        from_status=before,
        to_status=ticket.status,
        text=text,
        data={"trigger": trigger, "version": ticket.version, **(data or {})},
    )
    return ticket, who, before


# --- opening -----------------------------------------------------------------------------


async def open_ticket(
    s: AsyncSession,
    *,
    respondent: Respondent,
    kind: str,
    text: str,
    now: datetime,
    session_id: int | None = None,
    question_id: str | None = None,
    category: str | None = None,
    context: Mapping[str, Any] | None = None,
    priority: int | None = None,
    dedup_key: str | None = None,
    prefer_queue: str | None = None,
    actor: str | None = None,
    config: TicketConfig | None = None,
) -> Ticket | None:
    """Open a ticket for what the respondent raised; None when `dedup_key` was used before.

    Routed to a queue (see bot/services/ticket_queues.py); `priority` None takes the queue's;
    the SLA clocks start now. History: "opened"; notices "new" to the organisation's staff.
    """
    if kind not in KINDS:
        raise TicketError(f"未知的工单类型 unknown ticket kind {kind!r}: one of {', '.join(KINDS)}")
    if priority is not None and priority not in PRIORITIES:
        raise TicketError(f"优先级为 1 到 4 priority is 1 … 4: {priority}")
    config = config or TicketConfig()
    organisation_id = respondent.organisation_id or await root_organisation_id(s)
    first_response, resolution = config.first_response, config.resolution
    queue = None
    if organisation_id is not None:
        queue = await queue_for(
            s, organisation_id=organisation_id, category=category, kind=kind, config=config, now=now,
            prefer_code=prefer_queue,
        )  # fmt: skip
        first_response = timedelta(minutes=queue.first_response_minutes)
        resolution = timedelta(minutes=queue.resolution_minutes)
    ticket = await TicketRepository(s).create(
        organisation_id=organisation_id,
        queue_id=queue.id if queue is not None else None,
        respondent_id=respondent.id,
        session_id=session_id,
        question_id=question_id,
        category=category,
        kind=kind,
        text=text,
        context=context,
        status=NEW,
        priority=priority if priority is not None else (queue.priority if queue is not None else 2),
        dedup_key=dedup_key,
        first_response_due_at=config.working_time.add(now, first_response),
        resolution_due_at=config.working_time.add(now, resolution),
        now=now,
    )
    if ticket is None:
        return None
    await TicketRepository(s).add_event(
        ticket.id,
        at=now,
        actor=actor or f"respondent:{respondent.id}",
        kind="opened",
        to_status=NEW,
        text=text,
        data={"kind": kind, "queue": queue.code if queue is not None else None, "priority": ticket.priority},
    )
    if not respondent.is_test:  # a try-out in the simulator or the terminal pings nobody
        await ticket_notices.notify_new(s, ticket, now=now)
    return ticket


# --- staff work --------------------------------------------------------------------------


async def assign(
    s: AsyncSession, ticket: Ticket, *, to_user: StaffUser, by: Actor, expected_version: int | None, now: datetime
) -> Ticket:
    """Give the ticket to `to_user` (staff or admin whose scope covers it): also "take it"
    when `to_user` is `by`, and reassigning from any open state."""
    await _check(s, ticket, by, allow=STAFF_OR_SYSTEM)  # who acts is refused before whom they name
    if to_user.role not in ACTING_ROLES or to_user.disabled_at is not None:
        raise NotPermitted(
            f"只能指派给在职的工作人员或管理员 a ticket can only go to active staff or admins: {to_user.username}"
        )
    if not await covers(s, to_user, ticket.organisation_id):
        raise NotPermitted(
            f"{to_user.username} 的机构范围不包括该工单 the ticket is outside {to_user.username}'s organisation"
        )
    previous = ticket.assignee_id
    ticket, who, _ = await _move(
        s, ticket, "assign", by=by, allow=STAFF_OR_SYSTEM, expected_version=expected_version, now=now,
        data={"assignee_id": to_user.id, "previous_assignee_id": previous},
    )  # fmt: skip
    ticket.assignee_id = to_user.id
    if who.staff is not None and ticket.first_response_at is None:
        ticket.first_response_at = now
    await s.flush()
    return ticket


async def start(s: AsyncSession, ticket: Ticket, *, by: Actor, expected_version: int | None, now: datetime) -> Ticket:
    ticket, _, _ = await _move(s, ticket, "start", by=by, allow=STAFF, expected_version=expected_version, now=now)
    await s.flush()
    return ticket


async def resolve(
    s: AsyncSession, ticket: Ticket, *, resolution: str, by: Actor, expected_version: int | None, now: datetime
) -> Ticket:
    """Solved, as staff see it; the respondent confirms it or not (`confirm`,
    `leave_unconfirmed`, `reopen`). `resolution` says what was done, for the history."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise TicketError("请填写处理结果 say what was done (a resolution is required)")
    ticket, _, _ = await _move(
        s, ticket, "resolve", by=by, allow=STAFF, expected_version=expected_version, now=now, text=resolution
    )
    ticket.resolution = resolution
    ticket.resolved_at = now
    await s.flush()
    await ticket_followup.schedule_confirmation(s, ticket, now=now)  # the closed loop: "is it solved?"
    return ticket


async def confirm(
    s: AsyncSession,
    ticket: Ticket,
    *,
    by: Actor,
    expected_version: int | None,
    now: datetime,
    satisfaction: str | None = None,
) -> Ticket:
    """The respondent says it is solved (or staff heard so on the phone)."""
    ticket, _, _ = await _move(
        s, ticket, "confirm", by=by, allow=ANYONE, expected_version=expected_version, now=now,
        data={"satisfaction": satisfaction} if satisfaction else None,
    )  # fmt: skip
    ticket.closed_at = now
    if satisfaction:
        ticket.satisfaction = satisfaction[:32]
    await s.flush()
    return ticket


async def leave_unconfirmed(
    s: AsyncSession, ticket: Ticket, *, by: Actor, expected_version: int | None, now: datetime
) -> Ticket:
    """No word from the respondent after the resolution: closed without their confirmation."""
    ticket, _, _ = await _move(
        s, ticket, "leave_unconfirmed", by=by, allow=STAFF_OR_SYSTEM, expected_version=expected_version, now=now
    )
    ticket.closed_at = now
    await s.flush()
    return ticket


async def reopen(
    s: AsyncSession,
    ticket: Ticket,
    *,
    by: Actor,
    expected_version: int | None,
    now: datetime,
    reason: str | None = None,
    config: TicketConfig | None = None,
) -> Ticket:
    """Not solved after all (the respondent says "还没有", or staff reopen a closed one):
    one step more urgent, counted, the resolution clock restarted; the assignee is told."""
    ticket, _, _ = await _move(
        s, ticket, "reopen", by=by, allow=STAFF_OR_RESPONDENT, expected_version=expected_version, now=now,
        text=(reason or "").strip() or None, data={"resolution": ticket.resolution},
    )  # fmt: skip
    ticket.priority = max(PRIORITIES[0], ticket.priority - 1)
    ticket.reopen_count += 1
    ticket.closed_at = None
    ticket.resolved_at = None
    ticket.resolution = None  # the history keeps it (the resolve entry and this one)
    config = config or TicketConfig()
    queue = await QueueRepository(s).get(ticket.queue_id) if ticket.queue_id is not None else None
    whole = timedelta(minutes=queue.resolution_minutes) if queue is not None else config.resolution
    ticket.resolution_due_at = config.working_time.add(now, whole)
    await s.flush()
    await ticket_notices.notify_reopened(s, ticket, now=now)
    return ticket


async def add_note(s: AsyncSession, ticket: Ticket, *, text: str, by: Actor, now: datetime) -> TicketEvent:
    """An internal note: for colleagues only, never sent to the respondent."""
    text = (text or "").strip()
    if not text:
        raise TicketError("备注不能为空 a note needs some text")
    ticket = await _locked(s, ticket)
    who = await _check(s, ticket, by, allow=STAFF)
    ticket.updated_at = now
    return await TicketRepository(s).add_event(
        ticket.id, at=now, actor=who.label, staff_id=_staff_id(who), kind="note", text=text
    )


async def send_message(s: AsyncSession, ticket: Ticket, *, text: str, by: Actor, now: datetime) -> TicketEvent:
    """A message to the respondent, through the channel they last wrote on (else the newest
    they have). Its history entry says whether it was queued or why they cannot be reached
    (opted out, unreachable, no channel); either way it counts as the first response."""
    text = (text or "").strip()
    if not text:
        raise TicketError("消息不能为空 a message needs some text")
    ticket = await _locked(s, ticket)
    who = await _check(s, ticket, by, allow=STAFF)
    respondent = await RespondentRepository(s).get(ticket.respondent_id)
    identity = await latest_identity(s, respondent) if respondent is not None else None
    row_id: int | None = None
    if identity is not None:
        row_id = await queue_message(
            s,
            respondent=respondent,
            channel=identity.channel,
            account=identity.account,
            external_id=identity.external_id,
            kind="follow_up",
            text=text,
            now=now,
        )
    data: dict[str, Any] = {"delivery": "queued" if row_id is not None else "unreachable", "outbox_id": row_id}
    if identity is not None:
        data |= {"channel": identity.channel, "account": identity.account}
    if row_id is None:
        data["reason"] = (refusal(respondent) if identity is not None else None) or "no channel identity 没有联系渠道"
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.updated_at = now
    return await TicketRepository(s).add_event(
        ticket.id, at=now, actor=who.label, staff_id=_staff_id(who), kind="message", text=text, data=data
    )


# Channels a message cannot be sent back on: an interviewer typed the person's answers in
# (`huifang chat --interview`, the console's phone interviews). Such a person is reached by
# calling them again, so staff see "no channel" rather than a message that waits forever.
NO_MESSAGES_BACK = frozenset({"interview", "phone"})


async def latest_identity(s: AsyncSession, respondent: Respondent) -> ChannelIdentity | None:
    """The identity of their latest message (WeChat's 48 h window runs on that account),
    else their newest identity; never one of a channel that cannot carry a message back."""
    identities = [i for i in await RespondentRepository(s).identities(respondent) if i.channel not in NO_MESSAGES_BACK]
    if not identities:
        return None
    last = (
        await s.execute(
            select(InboundMessage.channel, InboundMessage.account, InboundMessage.external_id)
            .where(InboundMessage.respondent_id == respondent.id)
            .order_by(InboundMessage.id.desc())
            .limit(1)
        )
    ).first()
    if last is not None:
        for identity in identities:
            if (identity.channel, identity.account, identity.external_id) == tuple(last):
                return identity
    return identities[-1]


def _staff_id(who: _Who) -> int | None:
    return who.staff.id if who.staff is not None else None


# --- service levels ------------------------------------------------------------------------


def breaches(ticket: Ticket, now: datetime) -> list[str]:
    """Which due times an open ticket is past: "first_response", "resolution"."""
    if ticket.status not in TICKET_OPEN:
        return []
    found = []
    due = ticket.first_response_due_at
    if ticket.first_response_at is None and due is not None and due <= now:
        found.append("first_response")
    if ticket.resolution_due_at is not None and ticket.resolution_due_at <= now:
        found.append("resolution")
    return found


async def escalate_for_sla(s: AsyncSession, ticket: Ticket, *, now: datetime, config: TicketConfig | None = None
                           ) -> bool:  # fmt: skip
    """Escalate a ticket past a due time (see the module's note); False when it is not (or
    no longer) past one, so a second run of the same check changes nothing."""
    config = config or TicketConfig()
    ticket = await _locked(s, ticket)
    which = breaches(ticket, now)
    if not which:
        return False
    queues = QueueRepository(s)
    old_queue = await queues.get(ticket.queue_id) if ticket.queue_id is not None else None
    new_queue = old_queue
    if old_queue is not None:
        holder = await s.get(Organisation, old_queue.organisation_id)
        if holder is not None and holder.parent_id is not None:
            new_queue = await queue_for(
                s, organisation_id=holder.parent_id, category=ticket.category, kind=ticket.kind, config=config,
                now=now, prefer_code=old_queue.code,
            )  # fmt: skip
    before = ticket.status
    # Escalated again before anyone took it: the machine has no escalated → escalated move,
    # so the status stays; everything else (queue, priority, level, clocks) still moves.
    if "escalate" in ticket_triggers(ticket.status):
        ticket.status = _next_status(ticket, "escalate")
    ticket.queue_id = new_queue.id if new_queue is not None else None
    ticket.priority = max(PRIORITIES[0], ticket.priority - 1)
    ticket.escalation_level += 1
    ticket.version += 1
    ticket.updated_at = now
    first = timedelta(minutes=new_queue.first_response_minutes) if new_queue is not None else config.first_response
    whole = timedelta(minutes=new_queue.resolution_minutes) if new_queue is not None else config.resolution
    if ticket.first_response_at is None:
        ticket.first_response_due_at = config.working_time.add(now, first)
    ticket.resolution_due_at = config.working_time.add(now, whole)
    await TicketRepository(s).add_event(
        ticket.id,
        at=now,
        actor=SYSTEM,
        kind="sla_breached",
        from_status=before,
        to_status=ticket.status,
        data={
            "breached": which,
            "from_queue": old_queue.id if old_queue is not None else None,
            "to_queue": new_queue.id if new_queue is not None else None,
            "moved_up": new_queue is not old_queue,
            "level": ticket.escalation_level,
            "priority": ticket.priority,
            "version": ticket.version,
        },
    )
    await s.flush()
    await ticket_notices.notify_breached(
        s, ticket, queue_organisation_id=new_queue.organisation_id if new_queue is not None else None, now=now
    )
    return True
