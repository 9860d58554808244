"""A campaign's invitations through the real WeChat dispatcher (fake WeChat API over TCP):
WeChat's 48 h rule decides the form, and its outcome comes back to the member — reached
when the row was sent, unreachable with the dispatcher's reason otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import Database
from storage.repositories.inbound import InboundRepository
from tests.dispatch.conftest import CUSTOM_SEND, TEMPLATE_ID, TEMPLATE_SEND, Dispatch, SenderFactory, World
from tests.fakes.wechat_api import FakeWeChatApi
from tests.services.campaigns.conftest import campaign_world, shanghai

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def wrote_to_us(db: Database, openid: str, hours_ago: int) -> None:
    async with db.transaction() as s:
        await InboundRepository(s).claim(
            delivery_key=f"in-{openid}", channel="wechat", account="main", external_id=openid, kind="text",
            text="你好", at=shanghai(1, 9) - timedelta(hours=hours_ago),
        )  # fmt: skip


@pytest.mark.parametrize("template", [None, TEMPLATE_ID])
async def test_the_48_hour_rule_decides_and_the_member_hears_of_it(
    fake_wechat: FakeWeChatApi, world: World, dispatch: Dispatch, make_sender: SenderFactory, database: Database,
    template: str | None,
) -> None:  # fmt: skip
    await world.account(template_id=template)
    campaigns = await campaign_world(database)
    recent = await campaigns.person()  # openid o-1
    silent = await campaigns.person()  # o-2: wrote three days ago
    await wrote_to_us(database, "o-1", hours_ago=5)
    await wrote_to_us(database, "o-2", hours_ago=72)
    campaign = await campaigns.create()
    await campaigns.start(campaign)
    await campaigns.tick(shanghai(1, 9, 0))
    await dispatch({"wechat": make_sender(database)}, shanghai(1, 9, 0, 20))
    await campaigns.tick(shanghai(1, 9, 1))  # reads back what the dispatcher did

    members = await campaigns.members(campaign)
    assert members[recent].status == "invited" and members[recent].reached_at == shanghai(1, 9, 0, 20)
    assert len(fake_wechat.calls(CUSTOM_SEND)) == 1
    if template is None:
        assert members[silent].status == "unreachable" and members[silent].reached_at is None
        assert members[silent].reason is not None and "window_closed" in members[silent].reason
        assert "48 小时窗口已关闭" in members[silent].reason
        assert fake_wechat.calls(TEMPLATE_SEND) == []
    else:
        assert members[silent].status == "invited" and members[silent].reached_at is not None
        [call] = fake_wechat.calls(TEMPLATE_SEND)
        assert call.json["touser"] == "o-2"
