"""Subscribe, scan, menu clicks, unsubscribe, voice and images, over the webhook."""

from __future__ import annotations

from storage.models import ChannelIdentity, InboundMessage, Respondent
from storage.repositories.respondents import RespondentRepository
from tests.channels.wechat.wechat_app import Follower, running_app, settings_for

CONSENT = "您愿意回答几个简短的问题吗？"
WHICH_GROUP = "请问您属于以下哪一类"
OVERALL = "您对红十字会的救助项目，总体评价怎么样？"


async def test_plain_subscribe_of_an_unknown_follower_asks_which_group_then_starts_it(
    db_url: str, redis_url: str
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-plain-subscribe")
        menu = await who.send(who.event("subscribe"))
        assert menu is not None and menu.startswith("您好！这里是红十字会回访。") and WHICH_GROUP in menu
        assert "人道救助" in menu
        assert await wx.count(Respondent) == 0  # nobody is created before they say who they are

        greeting = await who.say("人道救助")
        assert CONSENT in greeting
        person = await wx.respondent(who.openid)
        assert person is not None and person.category == "humanitarian_aid"


async def test_scan_with_a_category_scene_starts_that_survey_for_a_follower(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-scan")
        assert WHICH_GROUP in (await who.send(who.event("subscribe")) or "")
        greeting = await who.send(who.event("SCAN", "c:humanitarian_aid"))
        assert greeting is not None and CONSENT in greeting
        assert (await wx.respondent(who.openid)).category == "humanitarian_aid"


async def test_a_respondents_own_scene_binds_the_openid_to_them(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        async with wx.db.transaction() as s:
            invited = await RespondentRepository(s).create(category="humanitarian_aid", name="王阿姨")
        who = Follower(wx, "o-invited")
        greeting = await who.send(who.event("subscribe", f"qrscene_r:{invited.id}"))
        assert greeting is not None and CONSENT in greeting
        person = await wx.respondent(who.openid)
        assert person is not None and person.id == invited.id and person.name == "王阿姨"
        assert await wx.count(Respondent) == 1 and await wx.count(ChannelIdentity) == 1
        [bound] = await wx.audit("channel_bound")
        assert bound.subject_id == str(invited.id)

        # Someone else scanning that code later is not moved into 王阿姨's survey…
        other = Follower(wx, "o-someone-else")
        await other.send(other.event("subscribe"))
        assert await wx.respondent(other.openid) is None  # …they are asked for their group
        # …and a follower already linked keeps their link when scanning another's code.
        assert OVERALL in await who.say("好的")
        again = await who.send(who.event("SCAN", "r:999999"))
        assert again is not None and OVERALL in again  # the question again, nothing moved


async def test_menu_click_starts_a_survey_and_human_is_noted_once(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-menu")
        greeting = await who.send(who.event("CLICK", "survey:humanitarian_aid"))
        assert greeting is not None and CONSENT in greeting

        note = await who.send(who.event("CLICK", "human"))  # delivered twice
        assert note == "好的，我们已经通知工作人员，他们会尽快和您联系。"
        person = await wx.respondent(who.openid)
        [request] = await wx.audit("human_requested")
        assert request.subject_type == "respondent" and request.subject_id == str(person.id)

        stranger = Follower(wx, "o-menu-stranger")
        assert await stranger.send(stranger.event("CLICK", "human")) == note
        assert len(await wx.audit("human_requested")) == 2
        assert await wx.respondent(stranger.openid) is None


async def test_unknown_menu_keys_and_numeric_scenes_start_nothing_new(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-old-poster")
        # Scene 3 of an old poster must not pick the third group of the menu.
        menu = await who.send(who.event("subscribe", "qrscene_3"))
        assert menu is not None and WHICH_GROUP in menu
        assert await wx.count(Respondent) == 0
        menu = await who.send(who.event("CLICK", "news:latest"))
        assert menu is not None and WHICH_GROUP in menu


async def test_unsubscribe_marks_the_respondent_unreachable_and_closes_the_survey(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-leaving")
        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        await who.say("好的")
        assert await who.send(who.event("unsubscribe")) is None  # "success": nothing to say

        person = await wx.respondent(who.openid)
        assert person is not None and person.unreachable_at is not None
        assert "unsubscribed" in (person.unreachable_reason or "")
        [session] = await wx.sessions(who.openid)
        assert session.status not in ("invited", "active") and session.ended_at is not None


async def test_voice_with_recognition_is_an_answer(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-voice")
        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        await who.say("好的")
        reply = await who.send(who.voice("非常好。"))
        assert reply is not None and reply.startswith("您觉得现在的救助项目，最主要的问题是什么？")
        assert await wx.answers(who.openid) == {"overall": "very_good"}


async def test_an_image_or_untranscribed_voice_gets_a_polite_request_and_the_question_again(
    db_url: str, redis_url: str
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-image")
        await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        await who.say("好的")
        for request in (who.image(), who.voice(None)):
            reply = await who.send(request)
            assert reply is not None
            assert reply.startswith("抱歉，暂时只能识别文字，请用文字回复。")
            assert OVERALL in reply
        assert await wx.answers(who.openid) == {}
        assert await wx.count(InboundMessage) == 4


async def test_events_the_bot_does_not_act_on_are_acknowledged_and_not_recorded(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        who = Follower(wx, "o-viewer")
        assert await who.send(who.event("VIEW", "https://example.org/")) is None
        assert await who.send(who.event("LOCATION")) is None
        assert await wx.count(InboundMessage) == 0
