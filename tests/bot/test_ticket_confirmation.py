"""The closed loop through the runtime, with a fixed clock: a resolved ticket's respondent is
asked in their channel whether it is solved (a follow-up flow of its own), and the answer
confirms or reopens the ticket; silence brings one reminder, then "unconfirmed"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.dispatch.scheduler import run_due_jobs_once
from bot.services import tickets
from bot.services.catalog import category_names
from bot.services.jobs import HANDLERS, JobConfig
from bot.services.organisations import add_organisation
from bot.services.runtime import Runtime
from bot.services.ticket_config import TicketConfig
from bot.services.ticket_followup import ASK, REMIND, TIMEOUT
from storage.models import OutboxMessage, StaffNotice, StaffUser, SurveySession, Ticket, TicketEvent
from storage.repositories.respondents import RespondentRepository
from tests.bot.conftest import T0, Chat

HOUR = timedelta(hours=1)
CONFIRM_AFTER = timedelta(hours=48)
LOOP = {kind: HANDLERS[kind] for kind in (ASK, REMIND, TIMEOUT)}
COMPLAINT = "救助款一直没有收到，打电话也没人接"


def config(runtime: Runtime) -> JobConfig:
    return JobConfig(
        engine=runtime.config, flows=runtime.flows, expire_sweep_every=timedelta(minutes=10),
        tickets=TicketConfig(confirm_after=CONFIRM_AFTER),
    )  # fmt: skip


async def run_jobs(runtime: Runtime, now: datetime) -> None:
    await run_due_jobs_once(
        runtime.db, LOOP, now=now, batch=20, stale_after=timedelta(minutes=5), max_attempts=3, config=config(runtime)
    )


async def staff(runtime: Runtime) -> int:
    async with runtime.db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        user = StaffUser(username="wang", password_hash="x", role="staff", organisation_id=city.id, notify_via="wecom",
                         created_at=T0, updated_at=T0)  # fmt: skip
        s.add(user)
        await s.flush()
        return user.id


async def person(runtime: Runtime, name: str) -> tuple[Chat, int]:
    """A respondent who declined their survey: known, and in no survey now."""
    chat = Chat(runtime, name)
    await chat.start("humanitarian_aid")
    await chat.say("不用了")
    async with runtime.db.transaction() as s:
        found = await RespondentRepository(s).by_identity(chat.channel, chat.account, chat.external_id)
        assert found is not None
        return chat, found.id


async def ticket_for(runtime: Runtime, respondent_id: int, user_id: int, at: datetime) -> int:
    async with runtime.db.transaction() as s:
        respondent = await RespondentRepository(s).get(respondent_id)
        assert respondent is not None
        t = await tickets.open_ticket(s, respondent=respondent, kind="complaint", text=COMPLAINT, now=at)
        assert t is not None
        user = await s.get(StaffUser, user_id)
        assert user is not None
        await tickets.assign(s, t, to_user=user, by=user, expected_version=None, now=at)
        return t.id


async def resolve(runtime: Runtime, ticket_id: int, user_id: int, at: datetime, resolution: str = "已补发救助款") -> None:
    async with runtime.db.transaction() as s:
        t = await s.get(Ticket, ticket_id)
        user = await s.get(StaffUser, user_id)
        assert t is not None and user is not None
        if t.status == "reopened":  # back to the staff member first
            t = await tickets.assign(s, t, to_user=user, by=user, expected_version=None, now=at)
        await tickets.resolve(s, t, resolution=resolution, by=user, expected_version=None, now=at)


async def ticket(runtime: Runtime, ticket_id: int) -> Ticket:
    async with runtime.db.transaction() as s:
        t = await s.get(Ticket, ticket_id, populate_existing=True)
        assert t is not None
        return t


async def follow_ups(runtime: Runtime, chat: Chat) -> list[str]:
    async with runtime.db.transaction() as s:
        rows = await s.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.external_id == chat.external_id, OutboxMessage.kind == "follow_up")
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def history(runtime: Runtime, ticket_id: int) -> list[tuple[str, str | None, str | None]]:
    async with runtime.db.transaction() as s:
        rows = await s.execute(
            select(TicketEvent.kind, TicketEvent.to_status, TicketEvent.actor)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind != "notified")
            .order_by(TicketEvent.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def texts(reply: object) -> str:
    return "\n".join(m.text for m in reply.messages)  # type: ignore[attr-defined]


async def test_not_solved_reopens_then_solved_confirms_with_satisfaction(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat, respondent_id = await person(runtime, "loop-1")
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0 + HOUR)
    await resolve(runtime, ticket_id, user_id, T0 + 2 * HOUR)
    assert await follow_ups(runtime, chat) == []  # asked by the scheduler, after the commit

    await run_jobs(runtime, T0 + 2 * HOUR)
    [question] = await follow_ups(runtime, chat)
    assert f"您反映的问题：“{COMPLAINT}”，工作人员已处理：已补发救助款。请问问题解决了吗？" in question
    assert "1. 解决了\n2. 还没有" in question
    await run_jobs(runtime, T0 + 2 * HOUR)  # run again: nothing asked twice
    assert len(await follow_ups(runtime, chat)) == 1

    chat.at = T0 + 3 * HOUR
    reply = await chat.say("还没有")
    assert "工作人员会尽快再和您联系" in texts(reply)
    reopened = await ticket(runtime, ticket_id)
    assert reopened.status == "reopened" and reopened.priority == 1 and reopened.reopen_count == 1
    async with runtime.db.transaction() as s:
        notices = list(await s.scalars(select(StaffNotice).where(StaffNotice.kind == "reopened")))
    assert [(n.user_id, n.ticket_id) for n in notices] == [(user_id, ticket_id)]
    assert (await history(runtime, ticket_id))[-2:] == [
        ("reply", None, f"respondent:{respondent_id}"),
        ("moved", "reopened", f"respondent:{respondent_id}"),
    ]
    # Done with the follow-up: a later message is thanked, no survey starts again.
    reply = await chat.say("谢谢")
    assert "本次回访已经结束" in texts(reply)

    # The earlier round's reminder finds the ticket moved on and says nothing.
    await run_jobs(runtime, T0 + 2 * HOUR + CONFIRM_AFTER)
    assert len(await follow_ups(runtime, chat)) == 1

    # Written as a sentence: one full stop before the question, not two.
    await resolve(runtime, ticket_id, user_id, T0 + 60 * HOUR, resolution="当面送到了。")
    await run_jobs(runtime, T0 + 60 * HOUR)
    second = (await follow_ups(runtime, chat))[-1]
    assert "工作人员已处理：当面送到了。请问问题解决了吗？" in second and "。。" not in second
    chat.at = T0 + 61 * HOUR
    reply = await chat.say("1")
    assert "您对这次处理满意吗？" in texts(reply)
    assert (await ticket(runtime, ticket_id)).status == "resolved"  # not yet: the flow goes on
    reply = await chat.say("满意")
    assert "还有什么想说的吗？" in texts(reply)
    await chat.say("谢谢你们")
    confirmed = await ticket(runtime, ticket_id)
    assert (confirmed.status, confirmed.satisfaction) == ("confirmed", "satisfied")
    async with runtime.db.transaction() as s:
        replies = list(await s.scalars(
            select(TicketEvent.text).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "reply")
        ))  # fmt: skip
    assert replies[-1] == "解决了 solved\n满意度 satisfaction: satisfied\n谢谢你们"


async def test_silence_brings_one_reminder_then_unconfirmed(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat, respondent_id = await person(runtime, "loop-quiet")
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    assert len(await follow_ups(runtime, chat)) == 1

    await run_jobs(runtime, T0 + HOUR + CONFIRM_AFTER - timedelta(minutes=1))
    assert len(await follow_ups(runtime, chat)) == 1
    await run_jobs(runtime, T0 + HOUR + CONFIRM_AFTER)
    [_, reminder] = await follow_ups(runtime, chat)
    assert reminder.startswith("提醒一下：") and "请问问题解决了吗？" in reminder
    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER - timedelta(minutes=1))
    assert (await ticket(runtime, ticket_id)).status == "resolved"

    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER)
    left = await ticket(runtime, ticket_id)
    assert left.status == "unconfirmed" and left.closed_at is not None
    assert len(await follow_ups(runtime, chat)) == 2  # one reminder only
    assert (await history(runtime, ticket_id))[-1] == ("moved", "unconfirmed", "system")
    async with runtime.db.transaction() as s:
        session = await s.scalar(select(SurveySession).order_by(SurveySession.id.desc()).limit(1))
    assert session is not None and session.status == "expired" and session.state["expired_by"] == "timeout"
    # A late answer reaches no session and moves nothing, but is not lost: staff get it as
    # words left after a survey (bot/services/requests.py message_for_staff).
    reply = await chat.say("还没有")
    assert "已收到您的留言" in texts(reply)
    assert (await ticket(runtime, ticket_id)).status == "unconfirmed"


async def test_a_respondent_mid_survey_is_asked_after_it_ends(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat = Chat(runtime, "loop-busy")
    await chat.start("humanitarian_aid")
    await chat.say("好的")  # in the survey now
    async with runtime.db.transaction() as s:
        found = await RespondentRepository(s).by_identity(chat.channel, chat.account, chat.external_id)
        assert found is not None
        respondent_id = found.id
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    assert await follow_ups(runtime, chat) == []
    await run_jobs(runtime, T0 + HOUR + timedelta(minutes=30))
    assert await follow_ups(runtime, chat) == []  # still in it

    chat.at = T0 + HOUR + timedelta(minutes=40)
    await chat.say("退订")
    await chat.say("确定")
    # 退订 ended the survey and applies to the follow-up too: nothing is ever sent.
    await run_jobs(runtime, T0 + 2 * HOUR)
    assert await follow_ups(runtime, chat) == []
    assert (await history(runtime, ticket_id))[-1] == ("message", None, "system")
    await run_jobs(runtime, T0 + 2 * HOUR + 2 * CONFIRM_AFTER)
    assert (await ticket(runtime, ticket_id)).status == "unconfirmed"


async def test_asked_once_the_survey_is_complete(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat = Chat(runtime, "loop-later")
    await chat.start("volunteer")
    await chat.say("好的")
    async with runtime.db.transaction() as s:
        found = await RespondentRepository(s).by_identity(chat.channel, chat.account, chat.external_id)
        assert found is not None
        respondent_id = found.id
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    assert await follow_ups(runtime, chat) == []
    chat.at = T0 + HOUR + timedelta(minutes=5)
    for _ in range(30):  # answer every question with its first option until it ends
        reply = await chat.say("1")
        if "问卷完成了" in texts(reply):
            break
    else:
        pytest.fail("the volunteer survey did not end")
    await run_jobs(runtime, T0 + HOUR + timedelta(minutes=30))
    [question] = await follow_ups(runtime, chat)
    assert "请问问题解决了吗？" in question
    chat.at = T0 + 2 * HOUR
    await chat.say("2")
    assert (await ticket(runtime, ticket_id)).status == "reopened"


async def test_opted_out_respondent_is_never_asked_and_left_unconfirmed(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat, respondent_id = await person(runtime, "loop-out")
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    async with runtime.db.transaction() as s:
        respondent = await RespondentRepository(s).get(respondent_id)
        assert respondent is not None
        await RespondentRepository(s).opt_out(respondent, at=T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    assert await follow_ups(runtime, chat) == []
    async with runtime.db.transaction() as s:
        note = await s.scalar(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id.desc()).limit(1)
        )
        assert note is not None and note.data is not None
        assert (note.kind, note.data["confirmation"]) == ("message", "not_asked")
        assert note.data["reason"].startswith("opted_out")
    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER - timedelta(minutes=1))
    assert (await ticket(runtime, ticket_id)).status == "resolved"
    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER)
    assert (await ticket(runtime, ticket_id)).status == "unconfirmed"


async def test_stop_during_the_follow_up_leaves_it_unconfirmed(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat, respondent_id = await person(runtime, "loop-stop")
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    chat.at = T0 + 2 * HOUR
    await chat.say("退订")
    reply = await chat.say("1")
    assert "已为您退订" in texts(reply)
    await run_jobs(runtime, T0 + HOUR + CONFIRM_AFTER)
    assert len(await follow_ups(runtime, chat)) == 1  # no reminder after 退订
    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER)
    assert (await ticket(runtime, ticket_id)).status == "unconfirmed"


async def test_answered_solved_but_not_the_rest_counts_at_the_timeout(runtime: Runtime) -> None:
    user_id = await staff(runtime)
    chat, respondent_id = await person(runtime, "loop-half")
    ticket_id = await ticket_for(runtime, respondent_id, user_id, T0)
    await resolve(runtime, ticket_id, user_id, T0 + HOUR)
    await run_jobs(runtime, T0 + HOUR)
    chat.at = T0 + 2 * HOUR
    await chat.say("解决了")
    await run_jobs(runtime, T0 + HOUR + CONFIRM_AFTER)
    [_, reminder] = await follow_ups(runtime, chat)
    assert "您对这次处理满意吗？" in reminder  # the question they stopped at
    await run_jobs(runtime, T0 + HOUR + 2 * CONFIRM_AFTER)
    t = await ticket(runtime, ticket_id)
    assert (t.status, t.satisfaction) == ("confirmed", None)


async def test_the_follow_up_is_never_a_category(runtime: Runtime) -> None:
    names = [code for code, _ in await category_names(runtime.db, runtime.flows)]
    assert len(names) == 9 and "ticket_confirmation" not in names
    chat = Chat(runtime, "loop-menu")
    reply = await chat.say("问题处理回访")  # the follow-up's name does not pick it
    assert "请问您属于以下哪一类" in texts(reply) and "问题处理回访" not in texts(reply)
