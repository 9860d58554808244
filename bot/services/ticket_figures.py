"""Ticket figures per queue and per organisation, for the reports and the console.

The tickets counted are those in the caller's scope opened in [since, until) (either end
open when None); per queue is by the queue a ticket is in now (after escalations), per
organisation by the ticket's own organisation (its respondent's).

- open: of those, how many are open now;
- median time to first response (first_response_at − created_at) and to resolution
  (resolved_at − created_at; a reopened ticket counts again once resolved again);
- reopen rate: tickets reopened at least once / tickets resolved at least once;
- confirmation rate: confirmed / (confirmed + unconfirmed + reopened after a resolution),
  counting each resolution's outcome from the history (staff reopening a closed ticket is
  not a resolution's outcome: that one was already counted as confirmed or unconfirmed);
- SLA breaches: "sla_breached" history entries.

Counts are SQL (GROUP BY); the medians are Python, since SQLite has no percentile function.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.lifecycles import TICKET_OPEN
from storage.models import Organisation, Ticket, TicketEvent, TicketQueue
from storage.repositories.organisations import Scope, in_scope


@dataclass
class Figures:
    key: int | None  # queue or organisation id (None: tickets without one)
    code: str | None
    name: str | None
    tickets: int = 0
    open: int = 0
    median_first_response: timedelta | None = None
    median_resolution: timedelta | None = None
    reopen_rate: float | None = None  # None: nothing resolved yet
    confirmation_rate: float | None = None  # None: no resolution has an outcome yet
    sla_breaches: int = 0
    # raw counts behind the rates, kept for whoever sums several rows
    reopened: int = 0
    ever_resolved: int = 0
    confirmed: int = 0
    unconfirmed: int = 0
    reopened_after_resolve: int = 0
    _first: list[float] = field(default_factory=list, repr=False)
    _resolution: list[float] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class TicketFigures:
    by_queue: list[Figures]
    by_organisation: list[Figures]


def _window(scope: Scope, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where = [in_scope(Ticket.organisation_id, scope)]
    if since is not None:
        where.append(Ticket.created_at >= since)
    if until is not None:
        where.append(Ticket.created_at < until)
    return where


async def ticket_figures(
    s: AsyncSession, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> TicketFigures:
    where = _window(scope, since, until)
    open_ = case((Ticket.status.in_(sorted(TICKET_OPEN)), 1), else_=0)
    reopened = case((Ticket.reopen_count > 0, 1), else_=0)
    ever_resolved = case(((Ticket.resolved_at.is_not(None)) | (Ticket.reopen_count > 0), 1), else_=0)
    counts = await s.execute(
        select(
            Ticket.queue_id,
            Ticket.organisation_id,
            func.count(),
            func.sum(open_),
            func.sum(reopened),
            func.sum(ever_resolved),
        )
        .where(*where)
        .group_by(Ticket.queue_id, Ticket.organisation_id)
    )
    outcome = case(
        (TicketEvent.to_status == "confirmed", "confirmed"),
        (TicketEvent.to_status == "unconfirmed", "unconfirmed"),
        (and_(TicketEvent.to_status == "reopened", TicketEvent.from_status == "resolved"), "reopened"),
        (TicketEvent.kind == "sla_breached", "breached"),
        else_=None,
    )
    events = await s.execute(
        select(Ticket.queue_id, Ticket.organisation_id, outcome, func.count())
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(*where, TicketEvent.kind.in_(("moved", "sla_breached")))
        .group_by(Ticket.queue_id, Ticket.organisation_id, outcome)
    )
    times = await s.execute(
        select(Ticket.queue_id, Ticket.organisation_id, Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at)
        .where(*where)
        .where((Ticket.first_response_at.is_not(None)) | (Ticket.resolved_at.is_not(None)))
    )

    queues: dict[int | None, Figures] = {}
    organisations: dict[int | None, Figures] = {}

    def rows(queue_id: int | None, organisation_id: int | None) -> Iterable[Figures]:
        for table, key in ((queues, queue_id), (organisations, organisation_id)):
            if key not in table:
                table[key] = Figures(key, None, None)
            yield table[key]

    for queue_id, organisation_id, total, n_open, n_reopened, n_resolved in counts:
        for f in rows(queue_id, organisation_id):
            f.tickets += int(total)
            f.open += int(n_open or 0)
            f.reopened += int(n_reopened or 0)
            f.ever_resolved += int(n_resolved or 0)
    for queue_id, organisation_id, what, n in events:
        for f in rows(queue_id, organisation_id):
            if what == "confirmed":
                f.confirmed += int(n)
            elif what == "unconfirmed":
                f.unconfirmed += int(n)
            elif what == "reopened":
                f.reopened_after_resolve += int(n)
            elif what == "breached":
                f.sla_breaches += int(n)
    for queue_id, organisation_id, created, first, resolved in times:
        for f in rows(queue_id, organisation_id):
            if first is not None:
                f._first.append((first - created).total_seconds())
            if resolved is not None:
                f._resolution.append((resolved - created).total_seconds())

    for f in (*queues.values(), *organisations.values()):
        _finish(f)
    await _name(s, queues, TicketQueue)
    await _name(s, organisations, Organisation)
    # By id; tickets without a queue or organisation last.
    return TicketFigures(
        by_queue=[queues[k] for k in sorted(queues, key=_last_none)],
        by_organisation=[organisations[k] for k in sorted(organisations, key=_last_none)],
    )


def _last_none(key: int | None) -> tuple[bool, int]:
    return (key is None, key or 0)


def _median(seconds: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def _finish(f: Figures) -> None:
    f.median_first_response = _median(f._first)
    f.median_resolution = _median(f._resolution)
    f.reopen_rate = f.reopened / f.ever_resolved if f.ever_resolved else None
    outcomes = f.confirmed + f.unconfirmed + f.reopened_after_resolve
    f.confirmation_rate = f.confirmed / outcomes if outcomes else None


async def _name(s: AsyncSession, table: dict[int | None, Figures], model: Any) -> None:
    ids = [k for k in table if k is not None]
    if not ids:
        return
    for row in await s.execute(select(model.id, model.code, model.name).where(model.id.in_(ids))):
        table[row.id].code, table[row.id].name = row.code, row.name
