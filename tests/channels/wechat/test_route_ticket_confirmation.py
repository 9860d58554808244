"""The closed loop over the WeChat webhook: a complaint typed as free text becomes a ticket;
staff resolve it; the scheduler asks the follower in WeChat (an outbox row for their
openid); "还没有" reopens it, and after the next resolution "解决了" confirms it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.dispatch.scheduler import run_due_jobs_once
from bot.services import tickets
from bot.services.catalog import FlowCache
from bot.services.jobs import HANDLERS, JobConfig
from bot.services.organisations import add_organisation
from bot.services.ticket_followup import ASK, REMIND, TIMEOUT
from storage.models import OutboxMessage, StaffUser, Ticket
from tests.channels.wechat.wechat_app import Follower, WeChatApp, running_app, settings_for

LOOP = {kind: HANDLERS[kind] for kind in (ASK, REMIND, TIMEOUT)}


async def resolve(wx: WeChatApp, ticket_id: int, user_id: int, resolution: str) -> None:
    async with wx.db.transaction() as s:
        t, user = await s.get(Ticket, ticket_id), await s.get(StaffUser, user_id)
        assert t is not None and user is not None
        now = datetime.now(UTC)
        if t.status != "assigned":  # new, or reopened by the respondent
            t = await tickets.assign(s, t, to_user=user, by=user, expected_version=None, now=now)
        await tickets.resolve(s, t, resolution=resolution, by=user, expected_version=None, now=now)


async def questions(wx: WeChatApp, openid: str) -> list[str]:
    async with wx.db.transaction() as s:
        rows = await s.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.external_id == openid, OutboxMessage.kind == "follow_up")
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def status(wx: WeChatApp, ticket_id: int) -> tuple[str, int, str | None]:
    async with wx.db.transaction() as s:
        t = await s.get(Ticket, ticket_id, populate_existing=True)
        assert t is not None
        return t.status, t.priority, t.satisfaction


async def test_a_wechat_complaint_is_confirmed_by_the_follower_after_a_reopen(db_url: str, redis_url: str) -> None:
    settings = settings_for(db_url, redis_url)
    config = JobConfig(engine=settings.engine, flows=FlowCache(), expire_sweep_every=timedelta(minutes=10),
                       tickets=settings.tickets)  # fmt: skip

    async def run_jobs() -> None:
        await run_due_jobs_once(
            wx.db, LOOP, now=datetime.now(UTC) + timedelta(seconds=1), batch=10, stale_after=timedelta(minutes=5),
            max_attempts=3, config=config,
        )  # fmt: skip

    async with running_app(settings) as wx:
        async with wx.db.transaction() as s:
            city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=datetime.now(UTC))
            user = StaffUser(username="wang", password_hash="x", role="staff", organisation_id=city.id,
                             created_at=datetime.now(UTC), updated_at=datetime.now(UTC))  # fmt: skip
            s.add(user)
            await s.flush()
            user_id = user.id
        who = Follower(wx, "o-closed-loop")
        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        await who.say("不用了")
        await who.say("我要投诉，救助款一直没有收到")
        person = await wx.respondent(who.openid)
        assert person is not None
        async with wx.db.transaction() as s:
            [ticket_id] = list(await s.scalars(select(Ticket.id).where(Ticket.respondent_id == person.id)))
        first_priority = (await status(wx, ticket_id))[1]

        await resolve(wx, ticket_id, user_id, "已联系民政部门补发")
        await run_jobs()
        [question] = await questions(wx, who.openid)
        assert "您反映的问题：“我要投诉，救助款一直没有收到”，工作人员已处理：已联系民政部门补发。" in question
        assert "1. 解决了\n2. 还没有" in question

        closing = await who.say("还没有")
        assert "工作人员会尽快再和您联系" in closing
        state, priority, _ = await status(wx, ticket_id)
        assert state == "reopened" and priority == max(1, first_priority - 1)

        await resolve(wx, ticket_id, user_id, "已当面送达")
        await run_jobs()
        assert "工作人员已处理：已当面送达" in (await questions(wx, who.openid))[-1]
        assert "您对这次处理满意吗？" in await who.say("解决了")
        assert "还有什么想说的吗？" in await who.say("非常满意")
        assert (await status(wx, ticket_id))[0] == "resolved"
        await who.say("跳过")
        state, _, satisfaction = await status(wx, ticket_id)
        assert (state, satisfaction) == ("confirmed", "very_satisfied")
        assert "本次回访已经结束" in await who.say("你好")  # no survey starts again
