"""A whole survey over the WeChat webhook in safe mode, every message delivered twice."""

from __future__ import annotations

from datetime import UTC, datetime

import xmltodict
from sqlalchemy import select

from storage.models import Answer, InboundMessage
from tests.channels.wechat.wechat_app import Follower, _msg_ids, _now, running_app, settings_for
from tests.channels.wechat.wechat_messages import GH_ID, TOKEN, message_xml, sign


async def test_a_safe_mode_survey_in_chinese_every_message_delivered_twice(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-survey-1")

        greeting = await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        assert greeting is not None
        assert greeting.startswith("您好！这里是红十字会。")
        assert "您愿意回答几个简短的问题吗？" in greeting

        overall = await who.say("好的")
        assert overall.startswith("您对红十字会的救助项目，总体评价怎么样？")
        assert "1. 非常好" in overall and "4. 不好" in overall  # WeChat has no buttons: numbered

        improve = await who.say("一般")
        assert improve.startswith("很抱歉让您不满意")
        main_problem = await who.say("等的时间太长了，手续也麻烦")
        assert main_problem.startswith("您觉得现在的救助项目，最主要的问题是什么？")
        other = await who.say("3")
        assert other.startswith("除了钱和物资，您还希望得到哪些帮助？") and "可以多选" in other
        opinion = await who.say("1、3")
        assert opinion.startswith("最后，您对我们的工作还有什么意见或建议吗？")
        closing = await who.say("希望审批能再快一点]]><xml>谢谢你们")
        assert closing.startswith("问卷完成了，非常感谢您！")

        assert await wx.answers(who.openid) == {
            "overall": "average",
            "improve": "等的时间太长了，手续也麻烦",
            "main_problem": "waiting_too_long",
            "other_services": ["counselling", "care_companionship"],
            "opinion": "希望审批能再快一点]]><xml>谢谢你们",  # verbatim, CDATA breaker and all
        }
        assert await wx.count(Answer) == 5  # the second deliveries recorded nothing
        assert await wx.count(InboundMessage) == 7
        [session] = await wx.sessions(who.openid)
        assert session.status == "completed"
        person = await wx.respondent(who.openid)
        assert person is not None and person.category == "humanitarian_aid" and person.consent_at is not None


async def test_text_that_could_break_cdata_is_stored_verbatim_and_the_reply_still_parses(
    db_url: str, redis_url: str
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-cdata")
        # An unknown follower's words are matched against the groups; "]]>" matches none,
        # so the reply is the group menu — parsed from decrypted XML by read_reply.
        menu = await who.say("]]></Content><MsgType>hacked</MsgType>")
        assert "请问您属于以下哪一类" in menu
        async with wx.db.transaction() as s:
            [stored] = (await s.scalars(select(InboundMessage.text))).all()
        assert stored == "]]></Content><MsgType>hacked</MsgType>"


async def test_plaintext_mode_gets_plain_reply_xml(db_url: str, redis_url: str) -> None:
    from tests.channels.wechat.wechat_app import add_account

    async with running_app(settings_for(db_url, redis_url), account=False) as wx:
        await add_account(wx.db, name="plain", safe=False)
        who = Follower(wx, "o-plain", safe=False, account="plain")
        query, body = who.event("subscribe", "qrscene_c:humanitarian_aid")
        response = await who.post((query, body))
        assert response.status_code == 200
        reply = xmltodict.parse(response.text)["xml"]
        assert "Encrypt" not in reply and reply["Content"].startswith("您好！这里是红十字会。")


async def test_get_url_verification_echoes_echostr_as_plain_text(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        from tests.channels.wechat.wechat_app import _now

        ts = str(int(_now().timestamp()))
        query = {"signature": sign(TOKEN, ts, "n1"), "timestamp": ts, "nonce": "n1", "echostr": "1234567890123"}
        response = await wx.client.get("/wechat/main", params=query)
        assert response.status_code == 200
        assert response.text == "1234567890123"
        assert response.headers["content-type"].startswith("text/plain")
        # The echostr is the caller's text: no browser may take it for HTML or script.
        assert response.headers["x-content-type-options"] == "nosniff"

        bad = await wx.client.get("/wechat/main", params={**query, "signature": sign("other", ts, "n1")})
        assert bad.status_code == 403 and "1234567890123" not in bad.text
        assert (await wx.client.get("/wechat/nobody", params=query)).status_code == 404


async def test_messages_dated_1970_or_9999_are_answered_and_dated_by_our_clock(
    db_url: str, redis_url: str
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-time-traveller")
        started = _now()

        def dated(create_time: int, content: str) -> tuple[dict[str, str], bytes]:
            return who.wrap(message_xml(
                ToUserName=GH_ID, FromUserName=who.openid, CreateTime=create_time,
                MsgType="text", Content=content, MsgId=next(_msg_ids),
            ))  # fmt: skip

        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
        assert "总体评价" in (await who.send(dated(0, "好的")) or "")
        assert "最主要的问题" in (await who.send(dated(253402300799, "非常好")) or "")
        [answer] = await wx.answer_rows(who.openid)
        assert answer.value == "very_good"
        assert started <= answer.answered_at <= _now()
        async with wx.db.transaction() as s:
            rows = (await s.scalars(select(InboundMessage).where(InboundMessage.kind == "text"))).all()
        assert sorted(r.platform_at for r in rows) == [
            datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        ]  # fmt: skip
        assert all(started <= r.received_at <= _now() for r in rows)


async def test_two_respondents_with_the_same_msgid_each_get_their_own_reply(
    db_url: str, redis_url: str
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        one, two = Follower(wx, "o-same-msgid-1"), Follower(wx, "o-same-msgid-2")
        for who in (one, two):
            await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
            assert "总体评价" in await who.say("好的", twice=False)
        msg_id = next(_msg_ids)

        def answer(who: Follower, content: str) -> tuple[dict[str, str], bytes]:
            return who.wrap(who._fields("text", Content=content, MsgId=msg_id))

        assert (await one.send(answer(one, "非常好")) or "").startswith("您觉得现在的救助项目")
        assert (await two.send(answer(two, "不好")) or "").startswith("很抱歉让您不满意")
        assert await wx.answers(one.openid) == {"overall": "very_good"}
        assert await wx.answers(two.openid) == {"overall": "poor"}
