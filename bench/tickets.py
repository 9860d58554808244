"""Latency of the staff ticket list on 100,000 tickets, through TicketRepository.list as
the console calls it (one transaction per query, like one page view).

Creates a fresh PostgreSQL database (huifang_bench_tickets on the server of
HUIFANG_DATABASE_URL, migrated here and dropped at the end), a city with two districts and
a queue each, and --tickets tickets (COPY) with realistic spread: 8 statuses, 4 priorities,
five kinds of complaint text. Then runs each query --runs times and prints p50 / p95:

  queue     a district's open tickets in one queue, first page (the everyday view)
  search    two words anywhere in the text (ILIKE), city-wide, first page
  city      every open ticket of the city, first page (no queue filter)

    .venv/bin/python bench/tickets.py                  # ~20 s on 2 cores
    .venv/bin/python bench/tickets.py --tickets 300000 --runs 100

Measured (2 vCPUs, PostgreSQL 15 on the same machine, 100,000 tickets, 50 runs), p50 / p95:
queue 2.4 / 2.8 ms, search 35 / 44 ms, city 2.3 / 2.9 ms. Before the partial index of
migration 0006 the queue and city pages sorted every open ticket of the scope: 16–20 ms and
42–51 ms; search was 96 ms with ILIKE for Chinese words (now LIKE: they have no case). The
search is a sequential scan: a trigram index would be next if it grows slow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH_DB = "huifang_bench_tickets"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEXTS = ["救助款一直没有收到，打电话也没人接", "工作人员态度不好", "申请资料太复杂，跑了好几趟",
         "米袋破损，有一袋发霉了", "等待时间太长，希望快一点"]  # fmt: skip
STATUSES = ["new", "assigned", "in_progress", "resolved", "confirmed", "unconfirmed", "reopened", "escalated"]


async def _admin(admin_url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    connection = await asyncpg.connect(make_url(admin_url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def seed(url: str, n: int) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy import make_url

    from bot.services.organisations import add_organisation
    from storage.db import Database
    from storage.migrate import upgrade_async
    from storage.repositories.organisations import Scope
    from storage.repositories.respondents import RespondentRepository
    from storage.repositories.ticket_queues import QueueRepository

    await upgrade_async(url)
    async with Database(url) as db, db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        districts = [await add_organisation(s, code=c, name=c, parent="chengdu", now=T0) for c in ("jinjiang", "wuhou")]
        orgs = [city, *districts]
        queues = [
            (await QueueRepository(s).create(organisation_id=o.id, code="complaints", name="投诉",
                                             first_response_minutes=240, resolution_minutes=2880, now=T0)).id
            for o in orgs
        ]  # fmt: skip
        people = [(await RespondentRepository(s).create(category="donation", organisation_id=o.id, at=T0)).id
                  for o in orgs]  # fmt: skip
        info = {"city": Scope.of(city), "district": Scope.of(districts[0]), "queue": queues[1]}

    rows = []
    for i in range(n):
        k = i % 3
        created = T0 + timedelta(seconds=(i * 7919) % n)
        rows.append((orgs[k].id, queues[k], people[k], "humanitarian_aid", "complaint", f"{TEXTS[i % 5]}（{i}）",
                     STATUSES[i % 8], 1 + (i * 31) % 4, created, created))  # fmt: skip
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "tickets", records=rows,
            columns=["organisation_id", "queue_id", "respondent_id", "category", "kind", "text", "status",
                     "priority", "created_at", "updated_at"],
        )  # fmt: skip
        await connection.execute("ANALYZE tickets")
        print(f"inserted {n:,} tickets in {time.perf_counter() - started:.1f} s (COPY)")
    finally:
        await connection.close()
    return info


async def measure(name: str, runs: int, query: Callable[[], Awaitable[int]]) -> None:
    found = await query()  # warm: statement caches, buffers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await query()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"{name:<8} p50 {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms   ({found} rows per page)")


async def run(args: argparse.Namespace) -> None:
    from sqlalchemy import make_url

    from storage.db import Database
    from storage.repositories.tickets import TicketRepository

    admin_url = os.environ.get("HUIFANG_DATABASE_URL", DEFAULT_PG)
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await _admin(admin_url, f'CREATE DATABASE "{BENCH_DB}"')
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=BENCH_DB).render_as_string(False)
    try:
        info = await seed(url, args.tickets)
        async with Database(url) as db:

            async def page(**filters: Any) -> int:
                scope = filters.pop("scope")
                async with db.transaction() as s:
                    return len(await TicketRepository(s).list(scope, limit=50, **filters))

            await measure("queue", args.runs, lambda: page(scope=info["district"], queue=info["queue"], status="open"))
            await measure("search", args.runs, lambda: page(scope=info["city"], q="米袋 发霉"))
            await measure("city", args.runs, lambda: page(scope=info["city"], status="open"))
    finally:
        if not args.keep:
            await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to insert (default 100,000)")
    parser.add_argument("--runs", type=int, default=50, help="runs per query (default 50)")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} (to EXPLAIN queries)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
