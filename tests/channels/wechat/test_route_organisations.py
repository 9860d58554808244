"""A respondent who writes to an organisation's Official Account belongs to it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.organisations import add_organisation
from storage.repositories.wechat_accounts import WeChatAccountRepository
from tests.channels.wechat.wechat_app import ACCOUNT, Follower, running_app, settings_for
from tests.channels.wechat.wechat_messages import AES_KEY, APP_ID, APP_SECRET, TOKEN


async def test_followers_of_a_districts_account_join_that_district(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url), account=False) as wx:
        async with wx.db.transaction() as s:
            now = datetime.now(UTC)
            await add_organisation(s, code="chengdu", name="成都市红十字会", now=now)
            district = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=now)
            await WeChatAccountRepository(s).create(
                name=ACCOUNT, app_id=APP_ID, token=TOKEN, aes_key=AES_KEY, app_secret=APP_SECRET,
                organisation_id=district.id, now=now,
            )  # fmt: skip
        who = Follower(wx, "o-district-follower")
        reply = await who.send(who.event("subscribe", "qrscene_c:volunteer"))
        assert reply is not None and "志愿" in reply
        person = await wx.respondent(who.openid)
        assert person is not None and person.organisation_id == district.id and not person.is_test
