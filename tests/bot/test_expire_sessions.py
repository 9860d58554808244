"""The expiry sweep (due job `expire_sessions`) through the runtime, with a fixed clock:
idle surveys end without the respondent writing, fresh ones stay, the sweep reschedules
itself once per slot, and a person whose survey the sweep ended hears what they would have
heard had their own late message ended it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.dispatch.scheduler import JobStats, run_due_jobs_once
from bot.services import respondents
from bot.services.jobs import HANDLERS, JobConfig, JobContext, ensure_recurring, expire_sessions
from bot.services.runtime import Runtime
from storage.db import Database
from storage.locks import identity_key, lock_respondent
from storage.models import AuditEntry, DueJob, OutboxMessage, SurveySession
from storage.repositories.due_jobs import DueJobRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.bot.conftest import T0, Chat

EVERY = timedelta(minutes=10)
MONTH = timedelta(days=31)
# The sweep alone: `ensure_recurring` seeds the other recurring kinds (ticket_sla) too.
SWEEP_ONLY = {expire_sessions.KIND: HANDLERS[expire_sessions.KIND]}  # past the 30-day default of expire_after


def config(runtime: Runtime) -> JobConfig:
    return JobConfig(engine=runtime.config, flows=runtime.flows, expire_sweep_every=EVERY)


async def seed(runtime: Runtime, now: datetime) -> None:
    async with runtime.db.transaction() as s:
        await ensure_recurring(s, JobContext(now=now, config=config(runtime)))


async def sweep(runtime: Runtime, now: datetime) -> JobStats:
    return await run_due_jobs_once(
        runtime.db, SWEEP_ONLY, now=now, batch=10, stale_after=timedelta(minutes=5), max_attempts=5, config=config(runtime)
    )


async def sessions(runtime: Runtime, chat: Chat) -> list[SurveySession]:
    async with runtime.db.transaction() as s:
        person = await RespondentRepository(s).by_identity(chat.channel, chat.account, chat.external_id)
        assert person is not None
        return await SessionRepository(s).list_for_respondent(person.id)


async def jobs(db: Database) -> list[DueJob]:
    async with db.transaction() as s:
        return list(await s.scalars(select(DueJob).where(DueJob.kind == expire_sessions.KIND).order_by(DueJob.id)))


async def in_survey(runtime: Runtime, name: str, *, at: datetime = T0, channel: str = "console") -> Chat:
    chat = Chat(runtime, name, channel=channel)
    chat.at = at
    await chat.start("人道救助")
    await chat.say("好的")
    await chat.say("1")
    return chat


async def test_an_idle_survey_is_ended_by_the_sweep_and_a_fresh_one_is_not(runtime: Runtime) -> None:
    idle = await in_survey(runtime, "idle")
    invited = Chat(runtime, "never-answered")
    await invited.start("志愿服务")  # invited at T0, never wrote again
    fresh = await in_survey(runtime, "fresh", at=T0 + timedelta(days=20))
    now = T0 + MONTH

    await seed(runtime, now)
    stats = await sweep(runtime, now)

    assert stats.done == 1
    assert [s.status for s in await sessions(runtime, idle)] == ["expired"]
    assert [s.status for s in await sessions(runtime, invited)] == ["expired"]
    assert [s.status for s in await sessions(runtime, fresh)] == ["active"]
    (ended,) = await sessions(runtime, idle)
    assert ended.ended_at == now and ended.state["expired_by"] == "silence"
    async with runtime.db.transaction() as s:
        audit = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "SessionExpired", AuditEntry.subject_id == str(ended.id))))  # fmt: skip
        sent = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert [(a.actor, a.data["reason"], a.at) for a in audit] == [("scheduler:expire_sessions", "silence", now)]
    assert sent == 0  # nothing is sent: they hear of it when they write


async def test_the_boundary_is_the_engines_exactly_expire_after_is_not_expired(runtime: Runtime) -> None:
    chat = await in_survey(runtime, "on-the-day")
    last_message = chat.at - timedelta(seconds=30)  # Chat moves on after each message
    await seed(runtime, last_message + runtime.config.expire_after)
    await sweep(runtime, last_message + runtime.config.expire_after)
    assert [s.status for s in await sessions(runtime, chat)] == ["active"]
    # The engine agrees: the same silence on a message asks "continue?", it does not expire.
    chat.at = last_message + runtime.config.expire_after
    assert "欢迎回来" in (await chat.say("你好")).text


async def test_after_the_sweep_a_late_message_gets_what_it_gets_without_the_sweep(runtime: Runtime) -> None:
    swept = await in_survey(runtime, "swept")
    unswept = await in_survey(runtime, "unswept")
    await seed(runtime, T0 + MONTH)
    await sweep(runtime, T0 + MONTH)
    assert [s.status for s in await sessions(runtime, unswept)] == ["expired"]  # the sweep took both

    # For comparison, a person whose own late message ends it (no sweep ran for them).
    own = await in_survey(runtime, "own-message")
    own.at += MONTH
    expected = await own.say("你好")

    swept.at = unswept.at = own.at
    after_sweep = await swept.say("你好")
    assert after_sweep.text == expected.text
    assert "已经过期" in after_sweep.text and "愿意" in after_sweep.text  # told, then invited afresh
    assert [s.status for s in await sessions(runtime, swept)] == ["invited", "expired"]
    assert [s.status for s in await sessions(runtime, own)] == ["invited", "expired"]
    consent = await swept.say("好的")
    assert "满意" in consent.text or "评价" in consent.text  # the new survey goes on


async def test_an_opted_out_respondents_open_survey_is_closed_and_they_stay_unbothered(runtime: Runtime) -> None:
    chat = await in_survey(runtime, "staff-opted-out")
    async with runtime.db.transaction() as s:
        people = RespondentRepository(s)
        person = await people.by_identity(chat.channel, chat.account, chat.external_id)
        await people.opt_out(person, at=T0 + timedelta(days=1))  # e.g. by phone, through staff
    await seed(runtime, T0 + MONTH)
    await sweep(runtime, T0 + MONTH)
    assert [s.status for s in await sessions(runtime, chat)] == ["expired"]
    chat.at = T0 + MONTH + timedelta(days=1)
    assert (await chat.say("你好")).messages == ()  # 退订 means silence, sweep or not


async def test_a_survey_ended_otherwise_is_still_thanked_not_restarted(runtime: Runtime) -> None:
    chat = Chat(runtime, "decliner")
    await chat.start("人道救助")
    await chat.say("不用了")  # declined
    await seed(runtime, T0 + MONTH)
    await sweep(runtime, T0 + MONTH)
    chat.at = T0 + MONTH
    assert "已经结束" in (await chat.say("你好")).text


async def test_the_sweep_reschedules_itself_once_per_slot_however_often_it_is_seeded(runtime: Runtime) -> None:
    now = T0 + MONTH + timedelta(minutes=3)
    for _ in range(2):  # two workers starting
        await seed(runtime, now)
    (first,) = await jobs(runtime.db)
    assert (first.kind, first.due_at, first.dedup_key) == ("expire_sessions", now, "expire_sessions:2026-07-02T09:00:00Z")

    await sweep(runtime, now)
    await seed(runtime, now)  # a pending run exists: nothing more
    following = T0 + MONTH + EVERY  # the next slot's start
    assert [(j.status, j.due_at) for j in await jobs(runtime.db)] == [("done", now), ("pending", following)]

    # A second run of the same slot (a stale claim run again) schedules no second "next".
    async with runtime.db.transaction() as s:
        await DueJobRepository(s).schedule(expire_sessions.KIND, {}, now, dedup_key="expire_sessions:again", now=now)
    await sweep(runtime, now + timedelta(minutes=1))
    assert [j.status for j in await jobs(runtime.db)] == ["done", "pending", "done"]

    await sweep(runtime, following)
    assert [(j.status, j.due_at) for j in await jobs(runtime.db)][-1] == ("pending", following + EVERY)
    assert sum(j.status == "pending" for j in await jobs(runtime.db)) == 1


async def test_a_full_batch_continues_at_once_from_where_it_stopped(runtime: Runtime) -> None:
    chats = [await in_survey(runtime, f"batch-{i}") for i in range(3)]
    now = T0 + MONTH
    async with runtime.db.transaction() as s:
        await DueJobRepository(s).schedule(expire_sessions.KIND, {"limit": 2}, now, now=now)

    await sweep(runtime, now)
    assert [(await sessions(runtime, c))[0].status for c in chats] == ["expired", "expired", "active"]
    continuation = (await jobs(runtime.db))[-1]
    assert (continuation.due_at, continuation.payload["after_id"]) == (now, (await sessions(runtime, chats[1]))[0].id)

    await sweep(runtime, now)  # the continuation: the last one, and no batch is full any more
    assert [(await sessions(runtime, c))[0].status for c in chats] == ["expired"] * 3
    assert [j.status for j in await jobs(runtime.db)].count("pending") == 1  # the next slot only


async def test_a_respondent_in_the_middle_of_a_message_is_left_for_the_next_sweep(pg_url: str) -> None:
    from bot.services.flows import prepare

    db = Database(pg_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        runtime = Runtime(db)
        busy = await in_survey(runtime, "busy", channel="wechat")
        idle = await in_survey(runtime, "idle", channel="wechat")
        now = T0 + MONTH
        await seed(runtime, now)
        async with db.transaction() as turn:  # a message of theirs is being handled
            await lock_respondent(turn, identity_key(busy.channel, busy.account, busy.external_id))
            await sweep(runtime, now)  # does not wait for it
        assert [s.status for s in await sessions(runtime, busy)] == ["active"]
        assert [s.status for s in await sessions(runtime, idle)] == ["expired"]
        linked = await in_survey(runtime, "being-linked", channel="wechat")
        async with db.transaction() as binding:  # a new identity is being linked to them
            person = await RespondentRepository(binding).by_identity(linked.channel, linked.account, linked.external_id)
            await respondents.lock_person(binding, person)
            await sweep(runtime, now + EVERY)
        assert [s.status for s in await sessions(runtime, busy)] == ["expired"]
        assert [s.status for s in await sessions(runtime, linked)] == ["active"]
    finally:
        await db.dispose()
