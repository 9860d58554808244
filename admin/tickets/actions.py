"""What staff do to a ticket, the same for the API and the console's forms: find the
ticket in the caller's scope (else `TicketNotFound`, whether it exists elsewhere or not),
then one call into bot.services.tickets, which checks role, scope, version and the move.

Notes and messages change no status, so the service does not check their version; a
form or request that names one is still refused when the ticket has changed since, so
nobody writes to a respondent about a ticket a colleague has just resolved unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import tickets
from bot.services.staff import StaffPrincipal, account_of, handler_in_scope
from bot.services.ticket_config import TicketConfig
from bot.services.ticket_views import ticket_at_version, ticket_in_scope
from bot.services.tickets import TicketError

Action = Literal["assign", "note", "message", "start", "resolve", "reopen"]
ACTIONS: tuple[Action, ...] = ("assign", "note", "message", "start", "resolve", "reopen")


class TicketNotFound(Exception):
    """No such ticket in the caller's scope: 404, never 403, so its existence stays hidden."""


class UnknownColleague(TicketError):
    pass


@dataclass(frozen=True, slots=True)
class Done:
    action: Action
    delivery: str | None = None  # messages: "queued" or "unreachable"
    reason: str | None = None  # why the respondent cannot be reached


async def perform(
    s: AsyncSession,
    me: StaffPrincipal,
    ticket_id: int,
    action: Action,
    *,
    now: datetime,
    version: int | None,
    text: str | None = None,
    user: str | None = None,
    config: TicketConfig | None = None,
) -> Done:
    ticket = await ticket_in_scope(s, me.scope, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    by = await account_of(s, me)
    if action == "assign":
        colleague = await handler_in_scope(s, username=user or "", scope=me.scope)
        if colleague is None:
            raise UnknownColleague(
                f"您的机构范围内没有可处理工单的用户 {user!r} no admin or staff member {user!r} in your organisation"
            )
        await tickets.assign(s, ticket, to_user=colleague, by=by, expected_version=version, now=now)
    elif action == "start":
        await tickets.start(s, ticket, by=by, expected_version=version, now=now)
    elif action == "resolve":
        await tickets.resolve(s, ticket, resolution=text or "", by=by, expected_version=version, now=now)
    elif action == "reopen":
        await tickets.reopen(s, ticket, by=by, expected_version=version, now=now, reason=text, config=config)
    elif action == "note":
        ticket = await ticket_at_version(s, ticket, version)
        await tickets.add_note(s, ticket, text=text or "", by=by, now=now)
    elif action == "message":
        ticket = await ticket_at_version(s, ticket, version)
        event = await tickets.send_message(s, ticket, text=text or "", by=by, now=now)
        data = event.data or {}
        return Done(action, delivery=str(data.get("delivery")), reason=data.get("reason"))
    return Done(action)
