"""Several workers at once on PostgreSQL, the `huifang worker` command, and the in-process
worker of the embedded SQLite default."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels.base import Inbound
from bot.container import open_container
from bot.dispatch.dispatcher import DispatchStats, dispatch_once
from bot.dispatch.worker import run_worker
from bot.settings import Settings
from storage.db import Database
from storage.models import DueJob, OutboxMessage, SurveySession
from tests.dispatch.conftest import CUSTOM_SEND, STABLE_TOKEN, T0, World

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]


async def _fill(world: World, count: int, *, at: datetime) -> list[str]:
    await world.account()
    openids = []
    for i in range(count):
        openid = f"o-race-{i:02d}"
        person = await world.respondent(openid)
        await world.inbound(openid, at - timedelta(minutes=30))
        await world.queue(person, openid, f"邀请 {i}", at=at)
        openids.append(openid)
    return openids


async def _statuses(db: Database) -> Counter[str]:
    async with db.transaction() as s:
        rows = await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return Counter(dict(rows.all()))


async def test_two_dispatchers_send_each_row_once_and_fetch_one_token(
    pg_url, fake_wechat, make_sender
) -> None:
    first_db, second_db = Database(pg_url), Database(pg_url)  # two processes' engines
    try:
        openids = await _fill(World(first_db), 40, at=T0)
        # Both arrive while the first token fetch is still in flight.
        fake_wechat.delay_next(STABLE_TOKEN, 0.2)

        async def drain(db: Database) -> int:
            sender, claimed = make_sender(db), 0  # each with its own Redis connection
            while True:
                stats: DispatchStats = await dispatch_once(db, {"wechat": sender}, now=T0, batch=4)
                if stats.claimed == 0:
                    return claimed
                claimed += stats.claimed

        claims = await asyncio.gather(drain(first_db), drain(second_db))

        assert sum(claims) == 40 and min(claims) > 0  # both took part
        sent_to = Counter(call.json["touser"] for call in fake_wechat.calls(CUSTOM_SEND))
        assert sent_to == Counter(openids)  # everyone once, nobody twice
        assert fake_wechat.count(STABLE_TOKEN) == 1
        assert await _statuses(first_db) == {"sent": 40}
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_two_worker_processes_share_the_work_and_the_token(
    pg_url, redis_url, fake_wechat
) -> None:
    db = Database(pg_url)
    try:
        now = datetime.now(UTC)
        openids = await _fill(World(db), 20, at=now)
        env = {
            **os.environ,
            "HUIFANG_DATABASE_URL": pg_url,
            "HUIFANG_REDIS_URL": redis_url,
            "HUIFANG_WECHAT_API_BASE": fake_wechat.base_url,
            "HUIFANG_AUTO_MIGRATE": "false",
            "HUIFANG_WORKER_POLL_S": "0.1",
            "HUIFANG_WORKER_BATCH": "3",
        }
        fake_wechat.delay_next(STABLE_TOKEN, 0.3)
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "worker", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 120  # a bound against hanging, not a speed test: it ends as soon as all are sent
            while (await _statuses(db)).get("sent", 0) < 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.send_signal(signal.SIGTERM)
            outputs = [await asyncio.wait_for(worker.communicate(), 60) for worker in workers]  # hang guard

        logs = [err.decode() for _, err in outputs]
        assert [w.returncode for w in workers] == [0, 0], logs
        assert all("outbox worker stopped" in log for log in logs), logs
        assert await _statuses(db) == {"sent": 20}
        assert Counter(c.json["touser"] for c in fake_wechat.calls(CUSTOM_SEND)) == Counter(openids)
        assert fake_wechat.count(STABLE_TOKEN) == 1
    finally:
        await db.dispose()


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "no-redis"])
async def test_embedded_app_sends_the_outbox_from_its_own_process(
    sqlite_url, redis_url, fake_wechat, with_redis
) -> None:
    # The embedded default needs no Redis: its one process keeps the access_token itself.
    settings = Settings(
        database_url=sqlite_url,
        redis_url=redis_url if with_redis else None,
        auto_migrate=False,
        publish_default_flows=False,
        wechat_api_base=fake_wechat.base_url,
        worker_poll_s=0.05,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        world = World(app.state.db)
        now = datetime.now(UTC)
        await world.account()
        person = await world.respondent("o-embedded")
        await world.inbound("o-embedded", now - timedelta(minutes=1))
        row_id = await world.queue(person, "o-embedded", "您好，这是一条回访消息。", at=now)

        deadline = time.monotonic() + 60  # ends as soon as it is sent
        while (await world.row(row_id)).status != "sent" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        row = await world.row(row_id)
    assert (row.status, row.via) == ("sent", "custom")
    assert [c.json["text"]["content"] for c in fake_wechat.calls(CUSTOM_SEND)] == ["您好，这是一条回访消息。"]


async def test_only_sqlite_runs_the_worker_in_process_unless_told(pg_url, sqlite_url) -> None:
    for url, expected in ((sqlite_url, True), (pg_url, False)):
        for told, wanted in ((None, expected), (not expected, not expected)):
            settings = Settings(database_url=url, in_process_worker=told, auto_migrate=False)
            async with open_container(settings, prepare_database=False) as container:
                assert container.wants_in_process_worker is wanted


async def test_the_worker_runs_due_jobs_next_to_the_outbox_on_the_containers_clock(db_url) -> None:
    """`run_worker` (as `huifang worker` and the in-process worker run it) seeds the expiry
    sweep and runs it at the container's fixed time: a survey idle for 31 days ends."""
    settings = Settings(
        database_url=db_url, auto_migrate=False, worker_poll_s=0.05, scheduler_poll_s=0.05
    )
    now = T0 + timedelta(days=31)
    async with open_container(settings, clock=lambda: now) as container:
        for n, text in enumerate(("人道救助", "好的")):
            await container.runtime.handle(Inbound(
                channel="console", account="local", external_id="idle", kind="text",
                delivery_key=f"worker-test-{n}", at=T0, text=text,
            ))  # fmt: skip

        async def status() -> str:
            async with container.db.transaction() as s:
                return (await s.scalars(select(SurveySession.status))).one()

        assert await status() == "active"
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(container, stop=stop))
        deadline = time.monotonic() + 60  # a bound against hanging: it ends once the job is done
        while await status() != "expired" and time.monotonic() < deadline and not worker.done():
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(worker, 30)

        assert await status() == "expired"
        async with container.db.transaction() as s:
            everything = list(await s.scalars(select(DueJob).order_by(DueJob.id)))
        jobs = [j for j in everything if j.kind == "expire_sessions"]
        assert [(j.kind, j.status, j.finished_at) for j in jobs[:1]] == [("expire_sessions", "done", now)]
        assert [(j.status, j.due_at) for j in jobs[1:]] == [("pending", now + timedelta(minutes=10))]
        # The staff digest and the campaigns' tick are seeded beside it (nothing to do here);
        # only their kinds are checked.
        assert {j.kind for j in everything} == {"expire_sessions", "staff_digest", "ticket_sla", "campaign_tick"}
