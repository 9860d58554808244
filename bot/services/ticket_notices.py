"""Notices to staff about tickets, left for the digest to send (another part of huifang
sends them by WeCom or e-mail; here they are only written, in the ticket's transaction).

Only people who can act and asked to be told get one: staff or admins, not disabled, with
`notify_via` other than "none" — a notice for someone who chose none would never leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organisation, StaffNotice, StaffUser, Ticket
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.tickets import TicketRepository

ACTING_ROLES = ("staff", "admin")
_KIND_NAMES = {"complaint": "投诉 complaint", "help": "求助 help", "human": "要求人工 asked for a person",
               "flagged": "需关注 flagged"}  # fmt: skip


def _gist(ticket: Ticket) -> str:
    words = " ".join(ticket.text.split())
    return words if len(words) <= 60 else words[:59] + "…"


def _text(kind: str, ticket: Ticket) -> str:
    what = _KIND_NAMES.get(ticket.kind, ticket.kind)
    if kind == "new":
        head = f"新工单 new ticket #{ticket.id}（{what}）"
    elif kind == "reopened":
        head = f"工单被重新打开 ticket reopened #{ticket.id}（{what}）"
    else:
        head = f"工单超时已升级 ticket past its due time, escalated #{ticket.id}（{what}，P{ticket.priority}）"
    return f"{head}: {_gist(ticket)}"


async def _listening(s: AsyncSession, user_ids: Sequence[int] | None = None, organisation_id: int | None = None
                     ) -> list[StaffUser]:  # fmt: skip
    query = select(StaffUser).where(
        StaffUser.role.in_(ACTING_ROLES), StaffUser.disabled_at.is_(None), StaffUser.notify_via != "none"
    )
    if user_ids is not None:
        query = query.where(StaffUser.id.in_(list(user_ids)))
    if organisation_id is not None:
        query = query.where(StaffUser.organisation_id == organisation_id)
    return list(await s.scalars(query.order_by(StaffUser.id)))


async def staff_to_tell(s: AsyncSession, organisation_id: int | None) -> list[StaffUser]:
    """Who hears about a ticket of this organisation: its own listening staff, else those of
    the nearest organisation above it that has some (a grassroots station often has none)."""
    if organisation_id is None:
        return []
    organisation = await s.get(Organisation, organisation_id)
    if organisation is None:
        return []
    for level in await OrganisationRepository(s).chain(organisation):
        found = await _listening(s, organisation_id=level.id)
        if found:
            return found
    return []


async def _write(s: AsyncSession, ticket: Ticket, kind: str, users: Sequence[StaffUser], now: datetime) -> list[int]:
    text = _text(kind, ticket)
    for user in users:
        s.add(StaffNotice(user_id=user.id, ticket_id=ticket.id, kind=kind, text=text, created_at=now))
    if users:
        await s.flush()
        # The history says who was told, so "nobody knew" can be checked.
        await TicketRepository(s).add_event(
            ticket.id, at=now, actor="system", kind="notified", data={"notice": kind, "users": [u.id for u in users]}
        )
    return [u.id for u in users]


async def notify_new(s: AsyncSession, ticket: Ticket, *, now: datetime) -> list[int]:
    return await _write(s, ticket, "new", await staff_to_tell(s, ticket.organisation_id), now)


async def notify_reopened(s: AsyncSession, ticket: Ticket, *, now: datetime) -> list[int]:
    """The assignee hears; an unassigned reopened ticket is told like a new one."""
    if ticket.assignee_id is not None:
        users = await _listening(s, user_ids=[ticket.assignee_id])
    else:
        users = await staff_to_tell(s, ticket.organisation_id)
    return await _write(s, ticket, "reopened", users, now)


async def notify_breached(s: AsyncSession, ticket: Ticket, *, queue_organisation_id: int | None, now: datetime
                          ) -> list[int]:  # fmt: skip
    """The assignee hears; unassigned, the staff of the queue it now waits in."""
    if ticket.assignee_id is not None:
        users = await _listening(s, user_ids=[ticket.assignee_id])
    else:
        users = await staff_to_tell(s, queue_organisation_id)
    return await _write(s, ticket, "breached", users, now)
