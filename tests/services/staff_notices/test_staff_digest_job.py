"""The `staff_digest` job through the scheduler with a fixed clock: seeded by the worker's
recurring check, one run per slot (so a person hears from us at most once per interval),
a full batch continued at once, and the worker's container building the channels from
settings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.container import open_container
from bot.dispatch.scheduler import JobStats, run_due_jobs_once
from bot.dispatch.worker import job_config
from bot.notify import StaffNotifier
from bot.services.catalog import FlowCache
from bot.services.jobs import HANDLERS, JobConfig, JobContext, ensure_recurring, staff_digest
from bot.services.staff_notices import StaffDigestConfig
from bot.settings import Settings
from flows.engine import EngineConfig
from storage.db import Database
from storage.models import DueJob
from storage.repositories.due_jobs import DueJobRepository
from tests.services.staff_notices.conftest import T0, Office, SmtpServer

EVERY = timedelta(minutes=10)


def config(notifier: StaffNotifier | None, *, batch: int = 20) -> JobConfig:
    digest = StaffDigestConfig(notifier=notifier, every=EVERY, batch=batch, public_url="https://hf.example.org") if notifier else None
    return JobConfig(engine=EngineConfig(), flows=FlowCache(), expire_sweep_every=timedelta(hours=1), staff_digest=digest)


async def seed(db: Database, cfg: JobConfig, now=T0) -> None:
    async with db.transaction() as s:
        await ensure_recurring(s, JobContext(now=now, config=cfg))


async def tick(db: Database, cfg: JobConfig, now) -> JobStats:
    return await run_due_jobs_once(
        db, HANDLERS, now=now, batch=10, stale_after=timedelta(minutes=5), max_attempts=3, config=cfg
    )


async def digest_jobs(db: Database) -> list[DueJob]:
    async with db.transaction() as s:
        return list(await s.scalars(select(DueJob).where(DueJob.kind == staff_digest.KIND).order_by(DueJob.id)))


async def test_the_digest_runs_once_per_slot_and_a_later_notice_waits_for_the_next(
    db: Database, office: Office, smtp_server: SmtpServer
) -> None:
    cfg = config(StaffNotifier([smtp_server.channel()]))
    person = await office.person("zhang")
    await office.notice(person, "new")
    start = T0 + timedelta(minutes=3)
    await seed(db, cfg, start)
    await seed(db, cfg, start)  # a second worker starting: still one job
    (first,) = await digest_jobs(db)
    assert (first.due_at, first.dedup_key) == (start, "staff_digest:2026-05-04T08:00:00Z")

    await tick(db, cfg, start)
    assert len(smtp_server.mailbox.messages) == 1
    assert "https://hf.example.org/console/tickets/" in smtp_server.mailbox.messages[0].get_content()
    assert [(j.status, j.due_at) for j in await digest_jobs(db)] == [("done", start), ("pending", T0 + EVERY)]

    await office.notice(person, "reopened")  # a minute later: waits for the next slot
    await tick(db, cfg, start + timedelta(minutes=1))
    await tick(db, cfg, T0 + EVERY - timedelta(seconds=1))
    assert len(smtp_server.mailbox.messages) == 1
    await tick(db, cfg, T0 + EVERY)
    assert len(smtp_server.mailbox.messages) == 2
    assert smtp_server.mailbox.messages[1]["Subject"].startswith("回访工单提醒：重新打开 1 件")
    assert [j.status for j in await digest_jobs(db)] == ["done", "done", "pending"]


async def test_a_full_batch_continues_at_once_with_the_people_after_it(
    db: Database, office: Office, smtp_server: SmtpServer
) -> None:
    cfg = config(StaffNotifier([smtp_server.channel()]), batch=2)
    for i in range(3):
        await office.notice(await office.person(f"p{i}"), "new")
    await seed(db, cfg)
    await tick(db, cfg, T0)
    continuation = (await digest_jobs(db))[-1]
    assert (continuation.due_at, continuation.status, continuation.payload["after_user_id"]) == (T0, "pending", 2)
    await tick(db, cfg, T0)
    assert sorted(m["To"] for m in smtp_server.mailbox.messages) == [f"p{i}@example.org" for i in range(3)]
    assert [j.status for j in await digest_jobs(db)].count("pending") == 1  # the next slot only


async def test_a_worker_without_a_notifier_does_not_seed_it_and_fails_a_run_it_is_given(db: Database) -> None:
    await seed(db, config(None))
    assert await digest_jobs(db) == []
    async with db.transaction() as s:
        await DueJobRepository(s).schedule(staff_digest.KIND, {}, T0, now=T0)
    stats = await tick(db, config(None), T0)
    assert stats.retried == 1
    (job,) = await digest_jobs(db)
    assert "no staff notifier" in (job.last_error or "")


async def test_the_worker_builds_the_channels_from_settings(sqlite_url: str, smtp_server: SmtpServer) -> None:
    settings = Settings(
        database_url=sqlite_url,
        public_url="https://hf.example.org",
        staff_digest_every_s=900,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        smtp_from="回访 <huifang@example.org>",
        wecom_corp_id="ww-corp",
        wecom_agent_id=1000002,
        wecom_secret="wecom-secret",
    )
    async with open_container(settings, prepare_database=False) as container:
        digest = job_config(container).staff_digest
        assert digest is not None
        assert digest.notifier.channels == ("email", "wecom")
        assert (digest.every, digest.public_url, digest.max_attempts) == (timedelta(seconds=900), "https://hf.example.org", 5)
        assert (await digest.notifier.send("email", "a@example.org", "主题", "正文")).ok
    assert smtp_server.mailbox.messages[0]["Subject"] == "主题"
    half = Settings(database_url=sqlite_url, wecom_corp_id="ww-corp")  # the secret is missing: off, with a warning
    async with open_container(half, prepare_database=False) as container:
        assert container.staff_notifier().channels == ()
