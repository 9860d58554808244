"""Duplicates and quick successive messages, on one app process and on two; the reply budget."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboundMessage, OutboxMessage
from tests.channels.wechat.wechat_app import (
    ACCOUNT,
    Follower,
    WeChatApp,
    read_reply,
    running_app,
    settings_for,
)

OVERALL = "您对红十字会的救助项目，总体评价怎么样？"
MAIN_PROBLEM = "您觉得现在的救助项目，最主要的问题是什么？"


async def at_first_question(who: Follower) -> None:
    await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
    assert OVERALL in await who.say("好的", twice=False)


async def test_concurrent_duplicates_are_recorded_once_with_one_reply(pg_url: str, redis_url: str) -> None:
    async with running_app(settings_for(pg_url, redis_url)) as wx:
        who = Follower(wx, "o-dup")
        await at_first_question(who)
        inbound_before = await wx.count(InboundMessage)
        request = who.text("非常好")
        responses = await asyncio.gather(*(who.post(request) for _ in range(6)))
        replies = {read_reply(r) for r in responses}
        assert len(replies) == 1 and MAIN_PROBLEM in replies.pop()
        assert await wx.count(InboundMessage) == inbound_before + 1
        assert await wx.answers(who.openid) == {"overall": "very_good"}


async def test_two_messages_at_once_cannot_both_answer_the_same_question(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-quick")
        await at_first_question(who)
        # "1" and "2" are both valid for this question and the next: whichever is handled
        # first answers the rating, the other the main problem — never both the rating.
        first, second = await asyncio.gather(who.post(who.text("1")), who.post(who.text("2")))
        replies = sorted([read_reply(first) or "", read_reply(second) or ""])
        assert sum(MAIN_PROBLEM in r for r in replies) == 1
        assert await wx.answers(who.openid) in (
            {"overall": "very_good", "main_problem": "application_too_complex"},
            {"overall": "good", "main_problem": "standard_too_low"},
        )


async def test_the_same_message_on_two_app_processes_is_recorded_once(pg_url: str, redis_url: str) -> None:
    settings = settings_for(pg_url, redis_url)
    async with running_app(settings) as one, running_app(settings, account=False) as two:
        assert one.db is not two.db  # separate engines and pools, as two processes have
        who_on_one, who_on_two = Follower(one, "o-two-procs"), Follower(two, "o-two-procs")
        await at_first_question(who_on_one)
        for text in ("很满意", "没问题", "不需要"):
            request = who_on_one.text(text)
            a, b = await asyncio.gather(who_on_one.post(request), who_on_two.post(request))
            assert read_reply(a) == read_reply(b)
        # Three messages, each delivered to both processes at once: each recorded once.
        assert await two.answers(who_on_two.openid) == {
            "overall": "very_good", "main_problem": "none", "other_services": ["not_needed"],
        }  # fmt: skip
        assert await one.count(InboundMessage) == 2 + 3


HANG_GUARD_S = 60  # only against a hang: nothing below waits on the clock to be right


class HeldRuntime:
    """Holds every `runtime.handle_turn` of the app until `release()`, so the webhook's reply
    budget is certainly spent before the work begins (no timing involved), and tells when
    the held work has finished."""

    def __init__(self, wx: WeChatApp) -> None:
        self._released = asyncio.Event()
        self._finished = 0
        self._changed = asyncio.Condition()
        runtime = wx.app.state.runtime
        handle = runtime.handle_turn

        async def held(*args: Any, **kwargs: Any) -> Any:
            await self._released.wait()
            try:
                return await handle(*args, **kwargs)
            finally:
                async with self._changed:
                    self._finished += 1
                    self._changed.notify_all()

        runtime.handle_turn = held

    def release(self) -> None:
        self._released.set()

    async def finished(self, count: int) -> None:
        async with asyncio.timeout(HANG_GUARD_S), self._changed:
            await self._changed.wait_for(lambda: self._finished >= count)


async def outbox_rows(wx: WeChatApp) -> list[OutboxMessage]:
    async with wx.db.transaction() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_past_the_budget_success_now_and_the_reply_goes_to_the_outbox(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url, wechat_reply_budget_s=0.2)) as wx:
        who = Follower(wx, "o-slow")
        await at_first_question(who)
        request = who.text("好")
        held = HeldRuntime(wx)
        # The work has not begun when the webhook answers: the budget is spent for certain.
        response = await who.post(request)
        assert response.text == "success"
        held.release()
        await held.finished(1)
        # The turn ended past the budget, so it queued its reply in its own transaction.
        [row] = await outbox_rows(wx)
        assert row.kind == "reply" and row.channel == "wechat" and row.account == ACCOUNT
        assert row.external_id == who.openid and row.status == "pending"
        assert row.text.startswith(MAIN_PROBLEM)
        person = await wx.respondent(who.openid)
        assert row.respondent_id == person.id
        async with wx.db.transaction() as s:
            [key] = (await s.scalars(select(InboundMessage.delivery_key).where(InboundMessage.text == "好"))).all()
        assert row.dedup_key == f"reply:{key}"
        assert await wx.answers(who.openid) == {"overall": "good"}

        # A redelivery now gets "success" and queues nothing more: the outbox sends the reply,
        # and a passive copy as well would show it twice.
        assert (await who.post(request)).text == "success"
        assert len(await outbox_rows(wx)) == 1


async def test_a_tiny_budget_still_records_once_and_queues_the_reply_once(pg_url: str, redis_url: str) -> None:
    async with running_app(settings_for(pg_url, redis_url, wechat_reply_budget_s=0.001)) as wx:
        who = Follower(wx, "o-tiny")
        request = who.event("subscribe", "qrscene_c:humanitarian_aid")
        held = HeldRuntime(wx)
        responses = await asyncio.gather(*(who.post(request) for _ in range(3)))
        assert {r.text for r in responses} == {"success"}
        held.release()
        await held.finished(3)
    # The app has shut down, which waits for every late reply: nothing more can be queued.
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            [row] = list(await s.scalars(select(OutboxMessage)))
            assert "您愿意回答几个简短的问题吗？" in row.text
            assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 1
    finally:
        await db.dispose()


async def test_a_turn_that_ends_past_the_budget_commits_its_reply_with_it(db_url: str) -> None:
    """No gap between the answer's commit and the reply's queueing: a crash right after
    `handle` returns cannot lose the reply (the route's own follow-up never runs here)."""
    from datetime import UTC, datetime

    from bot.channels.base import Inbound
    from bot.channels.wechat.route import _keep
    from bot.services.flows import prepare
    from bot.services.runtime import Runtime

    db = Database(db_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        runtime = Runtime(db)
        late = _keep(deadline=asyncio.get_running_loop().time() - 1)  # the budget is gone
        inbound = Inbound(
            channel="wechat", account=ACCOUNT, external_id="o-crash", kind="start",
            delivery_key="wechat:test:evt:o-crash:1:subscribe", at=datetime.now(UTC),
            start_payload="humanitarian_aid",
        )
        turn = await runtime.handle_turn(inbound, keep=late)
        reply = turn.reply
        assert turn.kept is not None and len(turn.kept.rows) == 1
        async with db.transaction() as s:
            [row] = list(await s.scalars(select(OutboxMessage)))
        assert row.text == reply.text and row.dedup_key == f"reply:{inbound.delivery_key}"

        on_time = _keep(deadline=asyncio.get_running_loop().time() + 60)
        turn = await runtime.handle_turn(
            Inbound(channel="wechat", account=ACCOUNT, external_id="o-crash", kind="text",
                    delivery_key="wechat:test:msg:2", at=datetime.now(UTC), text="好的"),
            keep=on_time,
        )
        assert turn.kept is None  # in time: the passive reply carries it, nothing queued
        async with db.transaction() as s:
            assert len(list(await s.scalars(select(OutboxMessage)))) == 1
    finally:
        await db.dispose()
