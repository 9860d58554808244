"""Ticket lists on PostgreSQL with 100,000 tickets (COPY), checked against the same rows
filtered and sorted in Python: queue, status, scope, assignee, age and word filters, the
urgent-first order and paging. Nothing is timed here; bench/tickets.py measures latency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import make_url

from bot.services.organisations import add_organisation
from flows.lifecycles import TICKET_OPEN, TICKET_STATES
from storage.db import Database
from storage.models import StaffUser, Ticket
from storage.repositories.organisations import Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.ticket_queues import QueueRepository
from storage.repositories.tickets import TicketRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)
N = 100_000
COLUMNS = ("id", "organisation_id", "queue_id", "respondent_id", "category", "kind", "text", "status", "priority", "version",
           "reopen_count", "escalation_level", "assignee_id", "created_at", "updated_at")  # fmt: skip
WORDS = ["救助款没有收到", "态度不好", "电话打不通", "米袋破损", "等待时间太长"]


def row(i: int, orgs: list[int], queues: list[int], people: list[int], staff: int) -> tuple[Any, ...]:
    """Ticket i, spread over three organisations (queue k belongs to organisation k)."""
    k = i % 3
    text = f"第{i}号：{WORDS[i % 5]}" + ("，还有米袋破损" if i % 997 == 0 else "")
    created = T0 + timedelta(seconds=(i * 7919) % N)  # shuffled, so id order is not time order
    return (i + 1, orgs[k], queues[k], people[k], "donation" if i % 2 else "volunteer", "complaint", text, TICKET_STATES[i % 8], 1 + (i * 31) % 4, 1,
            0, 0, staff if i % 10 == 0 else None, created, created)  # fmt: skip


async def test_lists_of_100000_tickets_are_filtered_and_ordered_right(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            city = await add_organisation(s, code="chengdu", name="成都", now=T0)
            jj = await add_organisation(s, code="jinjiang", name="锦江", parent="chengdu", now=T0)
            wh = await add_organisation(s, code="wuhou", name="武侯", parent="chengdu", now=T0)
            orgs = [city.id, jj.id, wh.id]
            queues = [
                (await QueueRepository(s).create(organisation_id=o, code="q", name="q", first_response_minutes=60,
                                                 resolution_minutes=600, now=T0)).id  # fmt: skip
                for o in orgs
            ]
            people = [(await RespondentRepository(s).create(category="donation", organisation_id=o, at=T0)).id
                      for o in orgs]  # fmt: skip
            scopes = {"city": Scope.of(city), "jinjiang": Scope.of(jj), "wuhou": Scope.of(wh)}
            user = StaffUser(username="s", password_hash="x", role="staff", organisation_id=city.id, created_at=T0,
                             updated_at=T0)  # fmt: skip
            s.add(user)
            await s.flush()
            staff = user.id
        rows = [row(i, orgs, queues, people, staff) for i in range(N)]
        dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.copy_records_to_table("tickets", records=rows, columns=list(COLUMNS))
            await conn.execute("SELECT setval('tickets_id_seq', $1)", N)
            await conn.execute("ANALYZE tickets")
        finally:
            await conn.close()

        by = {name: i for i, name in enumerate(COLUMNS)}
        in_org = {"city": set(orgs), "jinjiang": {jj.id}, "wuhou": {wh.id}}

        def expected(scope: str, keep: Callable[[tuple[Any, ...]], bool], limit: int = 50, offset: int = 0) -> list[int]:
            found = [r for r in rows if r[by["organisation_id"]] in in_org[scope] and keep(r)]
            found.sort(key=lambda r: (r[by["priority"]], r[by["created_at"]], r[by["id"]]))
            return [r[by["id"]] for r in found[offset : offset + limit]]

        def ids(found: list[Ticket]) -> list[int]:
            return [t.id for t in found]

        open_ = sorted(TICKET_OPEN)
        async with db.transaction() as s:
            repo = TicketRepository(s)
            got = await repo.list(scopes["city"], queue=queues[1], status="open", limit=50)
            assert ids(got) == expected("city", lambda r: r[by["queue_id"]] == queues[1] and r[by["status"]] in open_)
            assert len(got) == 50
            # Paging continues where the first page stopped.
            page3 = await repo.list(scopes["city"], queue=queues[1], status="open", limit=50, offset=100)
            assert ids(page3) == expected(
                "city", lambda r: r[by["queue_id"]] == queues[1] and r[by["status"]] in open_, offset=100
            )
            # A district sees its own tickets only, whatever the queue filter says.
            assert await repo.list(scopes["wuhou"], queue=queues[1]) == []
            words = await repo.list(scopes["city"], q="米袋破损 还有", limit=500)
            assert ids(words) == expected("city", lambda r: "米袋破损" in r[by["text"]] and "还有" in r[by["text"]],
                                          limit=500)  # fmt: skip
            assert len(words) == len([i for i in range(N) if i % 997 == 0])
            resolved_old = await repo.list(
                scopes["jinjiang"], status=["resolved"], older_than=T0 + timedelta(seconds=5000), limit=500
            )
            assert ids(resolved_old) == expected(
                "jinjiang",
                lambda r: r[by["status"]] == "resolved" and r[by["created_at"]] < T0 + timedelta(seconds=5000),
                limit=500,
            )
            assert ids(await repo.list(scopes["wuhou"], assignee=0, category="donation", limit=20)) == expected(
                "wuhou", lambda r: r[by["assignee_id"]] is None and r[by["category"]] == "donation", limit=20
            )
            assert ids(await repo.list(scopes["city"], assignee=staff, status="new", limit=100)) == expected(
                "city", lambda r: r[by["assignee_id"]] == staff and r[by["status"]] == "new", limit=100
            )
            assert await repo.list(scopes["city"], category="blood") == []
            counts = await repo.counts(scopes["city"])
            assert sum(counts.values()) == N
            assert counts[(queues[2], "new")] == len([i for i in range(N) if i % 3 == 2 and i % 8 == 0])
            assert await repo.count(scopes["jinjiang"]) == len([i for i in range(N) if i % 3 == 1])
    finally:
        await db.dispose()
