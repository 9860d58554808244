"""The closed loop over the WeChat webhook and the staff JSON API (see tests/ticket_loop.py)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.channels.wechat.wechat_app import Follower, running_app, settings_for
from tests.ticket_loop import city_and_staff, run_the_loop


async def test_a_wechat_complaint_closes_the_loop_through_the_staff_api(db_url: str, redis_url: str) -> None:
    settings = settings_for(db_url, redis_url)
    async with running_app(settings) as wx:
        await city_and_staff(wx.db)
        who = Follower(wx, "o-loop-over-http")
        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        await who.say("不用了")
        await who.say("我要投诉，救助款一直没有收到")

        async def say(text: str) -> str:
            return await who.say(text)

        async def asked() -> list[str]:
            async with wx.db.transaction() as s:
                rows = await s.scalars(
                    select(OutboxMessage.text)
                    .where(OutboxMessage.external_id == who.openid, OutboxMessage.kind == "follow_up")
                    .order_by(OutboxMessage.id)
                )
                return list(rows)

        await run_the_loop(wx.client, wx.db, settings, say=say, asked=asked)
