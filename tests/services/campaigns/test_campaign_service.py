"""Campaigns with a controlled clock: who is selected, the send window, the throttle,
reminders, pause and resume, a job run twice, and members moved by their own conversation."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import Inbound
from bot.services import campaigns, surveys
from bot.services.campaigns import CampaignDraft, CampaignError, CampaignStateError
from bot.services.jobs import campaign_tick
from bot.services.runtime import Runtime
from flows import engine
from storage.models import AuditEntry, Campaign, OutboxMessage, SurveySession
from storage.repositories.campaigns import CampaignRepository, Segment
from storage.repositories.flows import FlowRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.services.campaigns.conftest import T0, Campaigns, shanghai


async def test_the_segment_is_selected_in_one_go_and_only_once(world: Campaigns) -> None:
    chosen = await world.person("jinjiang", tags=["2026冬季救助", "老人"])
    station = await world.person("chunxi", tags=["老人"])
    await world.person("wuhou", tags=["老人"])  # another district
    await world.person("jinjiang", tags=["志愿者"])  # no chosen tag
    await world.person("jinjiang", tags=None)
    await world.person("jinjiang", category="humanitarian_aid", tags=["老人"])  # another category
    await world.person("jinjiang", tags=["老人"], is_test=True)
    await world.person("jinjiang", tags=["老人"], opted_out=True)
    nobodys = await world.person(None, tags=["老人"])  # of no organisation: the city society's
    campaign = await world.create(
        categories=["campaign_check"], organisations=["jinjiang"], tags=["老人", "2026冬季救助"]
    )
    assert await world.start(campaign) == 2
    assert set(await world.members(campaign)) == {chosen, station}
    assert {m.status for m in (await world.members(campaign)).values()} == {"queued"}
    # Selecting again adds nobody twice (unique per campaign and person).
    async with world.db.transaction() as s:
        c = await s.get(Campaign, campaign)
        assert c is not None
        segment = Segment(organisation_path=world.orgs["chengdu"].path, categories=("campaign_check",), tags=("老人",))
        assert await CampaignRepository(s).select_members(c, segment, now=T0) == 2  # 武侯's and nobody's
    assert nobodys in await world.members(campaign)


async def test_categories_default_to_the_flows_and_are_named_as_people_say_them(world: Campaigns) -> None:
    mine = await world.person("jinjiang")
    await world.person("jinjiang", category="humanitarian_aid")  # another category, same district
    # None named: the people the flow (campaign_check) was written for, not everyone.
    campaign = await world.create(categories=[])
    assert await world.start(campaign) == 1 and set(await world.members(campaign)) == {mine}
    async with world.db.transaction() as s:
        c = await s.get(Campaign, campaign)
        assert c is not None and c.segment["categories"] == ["campaign_check"]
    # A category's Chinese or English name works as well as its code.
    for said in (["活动测试"], ["Campaign check"], ["campaign_check"]):
        named = await world.create(categories=said)
        async with world.db.transaction() as s:
            c = await s.get(Campaign, named)
            assert c is not None and c.segment["categories"] == ["campaign_check"], said
    with pytest.raises(CampaignError, match=r"未知的类别 unknown categories: 老年人.*可用 valid: .*活动测试 campaign_check"):
        await world.create(categories=["老年人"])


async def test_cooldown_leaves_out_someone_surveyed_recently(world: Campaigns) -> None:
    recent = await world.person()
    long_ago = await world.person()
    async with world.db.transaction() as s:
        version = await FlowRepository(s).latest("humanitarian_aid")
        assert version is not None
        for person, days in ((recent, 10), (long_ago, 40)):
            await SessionRepository(s).create(
                respondent_id=person, flow_version_id=version.id, state={"lifecycle": "completed"},
                status="completed", now=T0 - timedelta(days=days),
            )  # fmt: skip
    cooling = await world.create(cooldown_days=30)
    assert await world.start(cooling) == 1
    assert set(await world.members(cooling)) == {long_ago}
    # "not surveyed for D days" in the segment works the same way.
    segment_days = await world.create(cooldown_days=0, not_surveyed_days=5)
    assert await world.start(segment_days) == 2


async def test_nothing_is_sent_outside_the_hours_and_everything_at_eight(world: Campaigns) -> None:
    people = [await world.person() for _ in range(3)]
    campaign = await world.create()
    await world.start(campaign, at=shanghai(1, 21, 10))
    await world.tick(shanghai(1, 21, 30))
    await world.tick(shanghai(2, 7, 59))
    assert await world.outbox() == []
    assert {m.status for m in (await world.members(campaign)).values()} == {"queued"}
    await world.tick(shanghai(2, 8, 0))
    rows = await world.outbox()
    assert sorted(r.respondent_id for r in rows) == sorted(people)
    assert {r.kind for r in rows} == {"invitation"}
    assert "您愿意回答两个问题吗" in rows[0].text
    members = await world.members(campaign)
    assert {m.status for m in members.values()} == {"invited"}
    # Each invitation opened the campaign's session for its person: their reply answers it.
    async with world.db.transaction() as s:
        sessions = list(await s.scalars(select(SurveySession)))
    assert {(x.campaign_id, x.channel) for x in sessions} == {(campaign, "wechat")}
    assert {x.id for x in sessions} == {m.session_id for m in members.values()}


async def test_own_hours_and_time_zone(world: Campaigns) -> None:
    await world.person()
    campaign = await world.create(send_from="09:30", send_until="10:00", timezone="Europe/London")
    await world.start(campaign)
    await world.tick(shanghai(1, 16, 29))  # 09:29 in London (summer time)
    assert await world.outbox() == []
    await world.tick(shanghai(1, 16, 30))
    assert len(await world.outbox()) == 1


async def test_the_throttle_holds_per_account_across_ticks(world: Campaigns) -> None:
    for _ in range(5):
        await world.person(account="main")
    for _ in range(3):
        await world.person(account="second")
    campaign = await world.create(per_minute=2)
    await world.start(campaign)

    async def sent() -> Counter[str]:
        return Counter(r.account for r in await world.outbox())

    await world.tick(shanghai(1, 9, 0))
    assert await sent() == Counter(main=2, second=2)
    await world.tick(shanghai(1, 9, 0, 40))  # the same minute: nothing more
    assert await sent() == Counter(main=2, second=2)
    await world.tick(shanghai(1, 9, 1))
    assert await sent() == Counter(main=4, second=3)
    await world.tick(shanghai(1, 9, 2))
    assert await sent() == Counter(main=5, second=3)
    per_minute = Counter((r.account, r.created_at.replace(second=0)) for r in await world.outbox())
    assert max(per_minute.values()) == 2


async def test_looked_at_every_five_seconds_the_throttle_still_holds_per_minute(world: Campaigns) -> None:
    for _ in range(5):
        await world.person()
    campaign = await world.create(per_minute=2)
    await world.start(campaign)
    every = timedelta(seconds=5)
    for second in range(0, 60, 5):
        await world.tick(shanghai(1, 9, 0, second), every)
    assert len(await world.outbox()) == 2
    await world.tick(shanghai(1, 9, 1, 0), every)
    await world.tick(shanghai(1, 9, 1, 5), every)
    assert len(await world.outbox()) == 4


async def test_a_running_campaign_past_its_end_is_finished_and_sends_nothing_more(world: Campaigns) -> None:
    for _ in range(3):
        await world.person()
    campaign = await world.create(per_minute=1, ends_at=shanghai(1, 9, 2))
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    await world.tick(shanghai(1, 9, 1))
    assert len(await world.outbox()) == 2
    await world.tick(shanghai(1, 9, 2))
    await world.tick(shanghai(1, 9, 3))
    assert len(await world.outbox()) == 2
    async with world.db.transaction() as s:
        row = await s.get(Campaign, campaign)
        assert row is not None and row.status == "finished" and row.finished_at == shanghai(1, 9, 2)
        audit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "campaign_finished"))).one()
    assert (audit.actor, audit.subject_id, audit.data["reason"]) == ("system", str(campaign), "ends_at")
    # The one not yet invited stays queued: nobody is invited after the campaign ended.
    assert sorted(m.status for m in (await world.members(campaign)).values()) == ["invited", "invited", "queued"]


async def test_a_job_run_twice_never_doubles_an_invitation(world: Campaigns) -> None:
    for _ in range(4):
        await world.person()
    campaign = await world.create(per_minute=10)
    await world.start(campaign)
    at = shanghai(1, 9, 0)
    job = type("Job", (), {"payload": {}, "id": 0, "kind": campaign_tick.KIND})()
    ctx = campaign_tick.JobContext(now=at, config=world.config())
    for _ in range(2):  # as a reclaimed stale run would
        async with world.db.transaction() as s:
            await campaign_tick.run(s, job, ctx)  # type: ignore[arg-type]
    await world.tick(shanghai(1, 9, 1))
    rows = await world.outbox()
    assert len(rows) == 4 and len({r.respondent_id for r in rows}) == 4


async def test_pause_stops_sending_and_resume_goes_on(world: Campaigns) -> None:
    for _ in range(3):
        await world.person()
    campaign = await world.create(per_minute=1)
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    await world.move("pause", campaign, shanghai(1, 9, 0, 30))
    for minute in range(1, 5):
        await world.tick(shanghai(1, 9, minute))
    assert len(await world.outbox()) == 1
    with pytest.raises(CampaignStateError):
        await world.move("pause", campaign, shanghai(1, 9, 5))
    await world.move("resume", campaign, shanghai(1, 9, 5))
    await world.tick(shanghai(1, 9, 6))
    await world.tick(shanghai(1, 9, 7))
    assert len(await world.outbox()) == 3
    await world.move("finish", campaign, shanghai(1, 9, 8))
    with pytest.raises(CampaignStateError):
        await world.move("resume", campaign, shanghai(1, 9, 9))


async def test_reminders_after_n_days_at_most_k_and_only_in_hours(world: Campaigns) -> None:
    person = await world.person()
    campaign = await world.create(remind_after_days=2, max_reminders=2)
    await world.start(campaign)
    await world.tick(shanghai(1, 10, 0))
    await world.tick(shanghai(2, 10, 0))  # one day: too soon
    assert [r.kind for r in await world.outbox()] == ["invitation"]
    await world.tick(shanghai(3, 10, 0))
    await world.tick(shanghai(5, 6, 0))  # due, but before the hours
    assert [r.kind for r in await world.outbox()] == ["invitation", "reminder"]
    await world.tick(shanghai(5, 10, 0))
    await world.tick(shanghai(7, 10, 0))
    await world.tick(shanghai(9, 10, 0))
    rows = await world.outbox()
    assert [r.kind for r in rows] == ["invitation", "reminder", "reminder"]
    assert rows[1].text.startswith("提醒一下：") and "您愿意回答两个问题吗" in rows[1].text
    assert (await world.members(campaign))[person].reminders_sent == 2


async def test_no_chat_identity_puts_them_on_the_call_list(world: Campaigns) -> None:
    phone_only = await world.person(channel=None)
    await world.person()
    campaign = await world.create()
    await world.start(campaign)
    await world.tick(shanghai(1, 22, 0))  # outside the hours: the call list is made all the same
    member = (await world.members(campaign))[phone_only]
    assert member.status == "unreachable" and member.reason is not None
    assert member.reason.startswith("no_chat_channel") and "无微信/Telegram" in member.reason
    async with world.db.transaction() as s:
        progress = await campaigns.campaign_progress(s, world.admin().scope, campaign)
    assert progress.unreachable == {member.reason: 1} and progress.by_status["queued"] == 1


async def test_someone_in_another_survey_is_not_interrupted(world: Campaigns) -> None:
    busy = await world.person()
    async with world.db.transaction() as s:
        respondent = await RespondentRepository(s).get(busy)
        version = await FlowRepository(s).latest("humanitarian_aid")
        assert respondent is not None and version is not None
        flow = await world.flows.load(FlowRepository(s), version.id)
        await surveys.start_survey(s, respondent, (version.id, flow), now=T0, reason="wechat:start")
    campaign = await world.create()
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    assert await world.outbox() == []
    assert (await world.members(campaign))[busy].status == "queued"
    async with world.db.transaction() as s:
        respondent = await RespondentRepository(s).get(busy)
        own = await SessionRepository(s).open_for(busy)
        assert respondent is not None and own is not None
        await surveys.end_survey(s, respondent, own, now=shanghai(1, 9, 10), reason="silence")
    await world.tick(shanghai(1, 9, 20))  # asked again only after the wait
    assert await world.outbox() == []
    await world.tick(shanghai(1, 9, 31))
    assert [r.respondent_id for r in await world.outbox()] == [busy]


def said(person: int, n: int, text: str, at_minute: int) -> Inbound:
    return Inbound(
        channel="wechat", account="main", external_id=f"o-{person}", kind="text",
        delivery_key=f"test:{person}:{n}", at=shanghai(1, 10, at_minute), text=text,
    )  # fmt: skip


async def test_members_move_with_their_conversation(world: Campaigns) -> None:
    finisher = await world.person()
    decliner = await world.person()
    quitter = await world.person()
    # The serial numbers make the openids: o-1 … o-3 for these three.
    campaign = await world.create(remind_after_days=1, max_reminders=3)
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    runtime = Runtime(world.db, flows=world.flows)
    reply = await runtime.handle(said(1, 1, "好的", 1))
    assert "救助对您有帮助吗" in reply.messages[-1].text
    assert (await world.members(campaign))[finisher].status == "started"
    await runtime.handle(said(1, 2, "是", 2))
    await runtime.handle(said(1, 3, "不", 3))
    await runtime.handle(said(2, 1, "不用了", 1))
    await runtime.handle(said(3, 1, "退订", 1))
    await runtime.handle(said(3, 2, "是", 2))
    members = await world.members(campaign)
    assert members[finisher].status == "completed" and members[finisher].completed_at is not None
    assert members[decliner].status == "declined"
    assert members[quitter].status == "opted_out"
    async with world.db.transaction() as s:
        progress = await campaigns.campaign_progress(s, world.admin().scope, campaign)
    assert (progress.invited, progress.started, progress.completed, progress.declined, progress.opted_out) == (
        3, 1, 1, 1, 1,
    )  # fmt: skip
    # Nobody finished is reminded.
    await world.tick(shanghai(3, 9, 0))
    assert [r.kind for r in await world.outbox()] == ["invitation"] * 3


async def test_a_phone_interview_moves_its_member_with_the_interviewer(world: Campaigns) -> None:
    person = await world.person(channel=None)
    campaign = await world.create()
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    assert (await world.members(campaign))[person].status == "unreachable"
    async with world.db.transaction() as s:
        respondent = await RespondentRepository(s).get(person)
        version = await FlowRepository(s).latest("campaign_check")
        assert respondent is not None and version is not None
        flow = await world.flows.load(FlowRepository(s), version.id)
        await surveys.start_survey(
            s, respondent, (version.id, flow), now=shanghai(1, 10), reason="staff:1", campaign_id=campaign,
            channel="phone", interviewer="张三",
        )  # fmt: skip
        session = await SessionRepository(s).open_for(person)
        assert session is not None
        step = engine.resume(flow, session.state, "好的", shanghai(1, 10, 1))
        await surveys.apply_step(s, respondent, session, step, now=shanghai(1, 10, 1), inbound=True, flow=flow)
    member = (await world.members(campaign))[person]
    assert (member.status, member.interviewer, member.channel) == ("started", "张三", "phone")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"flow": "nope"}, "没有这个流程"),
        ({"send_from": "8:00"}, "HH:MM"),
        ({"send_from": "21:00", "send_until": "08:00"}, "早于"),
        ({"per_minute": 0}, "per minute"),
        ({"categories": ["martians"]}, "未知的类别"),
        ({"organisations": ["nowhere"]}, "机构不在"),
        ({"timezone": "Mars/Base"}, "时区"),
        ({"name": " "}, "名称"),
        ({"max_reminders": 11}, "max reminders"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(world: Campaigns, fields: dict, words: str) -> None:
    draft = CampaignDraft(**{"name": "x", "flow": "campaign_check", **fields})
    with pytest.raises(CampaignError, match=words):
        async with world.db.transaction() as s:
            await campaigns.create_campaign(s, world.admin(), draft, now=T0)
    async with world.db.transaction() as s:
        assert list(await s.scalars(select(Campaign))) == []


async def test_a_district_admin_cannot_aim_at_another_district(world: Campaigns) -> None:
    draft = CampaignDraft(name="x", flow="campaign_check", organisation="wuhou")
    with pytest.raises(CampaignError, match="未知的机构"):
        async with world.db.transaction() as s:
            await campaigns.create_campaign(s, world.admin("jinjiang"), draft, now=T0)


async def _end_campaign_session(world: Campaigns, person: int, at_day: int) -> None:
    async with world.db.transaction() as s:
        respondent = await RespondentRepository(s).get(person)
        session = await SessionRepository(s).open_for(person)
        assert respondent is not None and session is not None
        await surveys.end_survey(s, respondent, session, now=shanghai(at_day, 9), reason="silence")


async def test_silence_declines_the_reached_but_leaves_the_call_list_alone(world: Campaigns) -> None:
    reached = await world.person()
    refused = await world.person()
    campaign = await world.create(max_reminders=0)
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    async with world.db.transaction() as s:
        # What the WeChat dispatcher records for a recipient outside 48 h without a template.
        for row in await s.scalars(select(OutboxMessage)):
            if row.respondent_id == refused:
                row.status, row.last_error = "unreachable", "window_closed: 48 h window closed and no template"
            else:
                row.status, row.sent_at = "sent", shanghai(1, 9, 0, 30)
    await world.tick(shanghai(1, 9, 1))
    members = await world.members(campaign)
    assert (members[reached].status, members[refused].status) == ("invited", "unreachable")
    assert members[reached].reached_at == shanghai(1, 9, 0, 30)
    assert members[refused].reason == "window_closed: 48 h window closed and no template"
    for person in (reached, refused):  # the expiry sweep, a month later
        await _end_campaign_session(world, person, 30)
    members = await world.members(campaign)
    assert (members[reached].status, members[refused].status) == ("declined", "unreachable")


async def test_a_phone_interview_may_win_back_someone_who_declined_by_chat(world: Campaigns) -> None:
    person = await world.person()
    campaign = await world.create()
    await world.start(campaign)
    await world.tick(shanghai(1, 9, 0))
    await Runtime(world.db, flows=world.flows).handle(said(1, 1, "不用了", 1))
    assert (await world.members(campaign))[person].status == "declined"
    async with world.db.transaction() as s:
        respondent = await RespondentRepository(s).get(person)
        version = await FlowRepository(s).latest("campaign_check")
        assert respondent is not None and version is not None
        flow = await world.flows.load(FlowRepository(s), version.id)
        await surveys.start_survey(
            s, respondent, (version.id, flow), now=shanghai(2, 10), reason="staff:1", campaign_id=campaign,
            channel="phone", interviewer="李四",
        )  # fmt: skip
        session = await SessionRepository(s).open_for(person)
        assert session is not None
        for minute, words in enumerate(("好的", "是", "是"), start=1):
            step = engine.resume(flow, session.state, words, shanghai(2, 10, minute))
            await surveys.apply_step(s, respondent, session, step, now=shanghai(2, 10, minute), inbound=True, flow=flow)
    member = (await world.members(campaign))[person]
    assert (member.status, member.interviewer, member.channel) == ("completed", "李四", "phone")
