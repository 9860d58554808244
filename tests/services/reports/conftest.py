"""A fixed data set for the report tests, built through the services and repositories the
runtime uses, with every expected figure counted by hand in EXPECTED_* below.

Organisations: 成都 chengdu → 锦江 jinjiang (→ 春熙路 chunxi), 武侯 wuhou.
Flows: `aid` (two versions: v2 renames an option, drops question `visited` and option `d`,
adds an NPS question) and `donor`; both rate `overall`.

Sessions of `aid` (p = respondent, all started in June 2026 except S8):
  S1 p1 jinjiang [低保]        v1 completed wechat   campaign  overall very_good, services [a,b], age 70,
                                                              visited yes, opinion (complaint → T1)
  S2 p2 chunxi [低保, 独居]    v1 completed wechat             overall good, services [a], age skipped,
                                                              visited no, opinion skipped
  S3 p3 wuhou                  v2 completed telegram campaign  overall poor, services [a,b,c], age unreadable,
                                                              recommend 9, opinion (help → T2)
  S4 p4 wuhou                  v2 active    phone              overall good
  S5 p5 jinjiang               v2 declined                     —
  S6 p6 jinjiang               v2 opted_out                    —
  S7 p7 jinjiang TEST          v2 completed                    overall poor … (never counted; ticket T4)
  S8 p8 jinjiang               v2 completed (10 July)          overall average, services skipped, age 80,
                                                              recommend 3, opinion "没有，挺好的" (answered,
                                                              says nothing: no opinion)
Donor: D1 p9 jinjiang v1 completed, overall very_good.
Campaign C (aid): p1 completed (S1), p3 completed (S3), p10 jinjiang invited, p11 wuhou declined
(reached), p12 chunxi opted out before any invitation, p13 wuhou queued.
Tickets: T1 (S1 opinion) resolved → confirmed; T2 (S3 opinion) passed up to 成都 by an SLA
breach; T3 (S3 overall) resolved → reopened; T4 the test respondent's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import tickets
from bot.services.flows import publish_text
from bot.services.organisations import add_organisation
from storage.db import Database
from storage.models import Campaign, CampaignMember, FlowVersion, Organisation, StaffUser, Ticket
from storage.models import Flow as FlowRow
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SKIP = object()


@dataclass(frozen=True)
class Unreadable:
    raw: str


AID_V1 = """\
id: aid
version: 1
category: {code: aid, name: {zh: 人道救助, en: Humanitarian aid}}
title: {zh: 人道救助回访, en: Aid follow-up}
intro: {zh: 您好, en: Hello}
consent: {zh: 您愿意吗, en: Will you}
declined: {zh: 谢谢, en: Thanks}
closing: {zh: 完成, en: Done}
questions:
  - id: overall
    type: rating
    prompt: {zh: 您对救助项目总体评价怎么样？, en: "How was the aid overall?"}
    report_label: {zh: 人道救助项目的总体评价, en: the aid project overall}
    report_groups:
      - {label: {zh: 好或非常好, en: Good or very good}, codes: [very_good, good]}
      - {label: {zh: 一般或不好, en: Fair or poor}, codes: [average, poor]}
    options:
      - {code: very_good, label: {zh: 非常好, en: Very good}, score: 4}
      - {code: good, label: {zh: 好, en: Good}, score: 3}
      - {code: average, label: {zh: 一般, en: Fair}, score: 2}
      - {code: poor, label: {zh: 不好, en: Poor}, score: 1}
  - id: services
    type: multi_choice
    optional: true
    prompt: {zh: 您还希望得到哪些帮助？, en: "What other help would you like?"}
    report_label: {zh: 款物以外希望获得的服务, en: help wanted besides money}
    options:
      - {code: a, label: {zh: 心理疏导, en: Counselling}}
      - {code: b, label: {zh: 政策引导, en: Policy guidance}}
      - {code: c, label: {zh: 关怀陪伴, en: Companionship}}
      - {code: d, label: {zh: 其他, en: Other}}
  - id: age
    type: number
    optional: true
    prompt: {zh: 您今年多大年纪？, en: "How old are you?"}
  - id: visited
    type: yes_no
    prompt: {zh: 工作人员上门看望过您吗？, en: "Did staff visit you?"}
  - id: opinion
    type: text
    optional: true
    prompt: {zh: 您还有什么意见或建议？, en: "Any comments?"}
"""

AID_V2 = (
    AID_V1.replace("version: 1", "version: 2")
    .replace("{zh: 好, en: Good}", "{zh: 比较好, en: Quite good}")
    .replace("      - {code: d, label: {zh: 其他, en: Other}}\n", "")
    .replace(
        '  - id: visited\n    type: yes_no\n    prompt: {zh: 工作人员上门看望过您吗？, en: "Did staff visit you?"}\n',
        "  - id: recommend\n    type: nps\n    optional: true\n"
        '    prompt: {zh: 您有多大可能向朋友推荐我们？, en: "How likely are you to recommend us?"}\n',
    )
)

DONOR = """\
id: donor
version: 1
category: {code: donor, name: {zh: 公益捐赠, en: Donors}}
title: {zh: 捐赠者回访, en: Donor follow-up}
intro: {zh: 您好, en: Hello}
consent: {zh: 您愿意吗, en: Will you}
declined: {zh: 谢谢, en: Thanks}
closing: {zh: 完成, en: Done}
questions:
  - id: overall
    type: rating
    prompt: {zh: 您对捐赠总体满意吗？, en: "Overall, were you satisfied?"}
    options:
      - {code: very_good, label: {zh: 非常好, en: Very good}, score: 2}
      - {code: poor, label: {zh: 不好, en: Poor}, score: 1}
"""


@dataclass(frozen=True)
class ReportWorld:
    db: Database
    orgs: dict[str, int]
    people: dict[str, int]
    sessions: dict[str, int]
    tickets: dict[str, int]
    flows: dict[str, int]
    campaign: int
    answers: dict[str, int]  # "S1.opinion" → answer id


async def _version(s: AsyncSession, code: str, version: int) -> int:
    found = await s.scalar(
        select(FlowVersion.id).join(FlowRow, FlowRow.id == FlowVersion.flow_id)
        .where(FlowRow.code == code, FlowVersion.version == version)
    )  # fmt: skip
    assert found is not None
    return found


async def build_world(db: Database) -> ReportWorld:
    await publish_text(db, "aid.yaml", AID_V1, now=T0)
    await publish_text(db, "aid.yaml", AID_V2, now=T0 + timedelta(hours=1))
    await publish_text(db, "donor.yaml", DONOR, now=T0)
    async with db.transaction() as s:
        orgs = {}
        for code, name, parent in [
            ("chengdu", "成都市红十字会", None), ("jinjiang", "锦江区红十字会", "chengdu"),
            ("wuhou", "武侯区红十字会", "chengdu"), ("chunxi", "春熙路街道红十字服务站", "jinjiang"),
        ]:  # fmt: skip
            orgs[code] = (await add_organisation(s, code=code, name=name, parent=parent, now=T0)).id
        staff = StaffUser(
            username="handler", display_name="处理人", password_hash="x", role="admin", organisation_id=orgs["chengdu"],
            notify_via="none", created_at=T0, updated_at=T0,
        )  # fmt: skip
        s.add(staff)
        await s.flush()
        flows = {code: fid for code, fid in await s.execute(select(FlowRow.code, FlowRow.id))}
        versions = {
            "aid1": await _version(s, "aid", 1), "aid2": await _version(s, "aid", 2), "donor1": await _version(s, "donor", 1)
        }  # fmt: skip
        campaign = Campaign(
            organisation_id=orgs["chengdu"], name="六月回访", flow_id=flows["aid"], segment={}, status="running",
            created_at=T0, updated_at=T0,
        )  # fmt: skip
        s.add(campaign)
        await s.flush()

        repo = RespondentRepository(s)
        people: dict[str, int] = {}
        plan: list[tuple[str, str, str, list[str] | None, bool]] = [
            ("p1", "jinjiang", "aid", ["低保"], False), ("p2", "chunxi", "aid", ["低保", "独居"], False),
            ("p3", "wuhou", "aid", None, False), ("p4", "wuhou", "aid", None, False),
            ("p5", "jinjiang", "aid", None, False), ("p6", "jinjiang", "aid", None, False),
            ("p7", "jinjiang", "aid", ["低保"], True), ("p8", "jinjiang", "aid", None, False),
            ("p9", "jinjiang", "donor", None, False), ("p10", "jinjiang", "aid", None, False),
            ("p11", "wuhou", "aid", None, False), ("p12", "chunxi", "aid", None, False),
            ("p13", "wuhou", "aid", None, False),
        ]  # fmt: skip
        for name, org, category, tags, is_test in plan:
            person = await repo.create(category=category, name=name, organisation_id=orgs[org], is_test=is_test, at=T0)
            person.tags = tags
            people[name] = person.id
        await s.flush()

        sessions: dict[str, int] = {}
        answer_ids: dict[str, int] = {}
        answers = AnswerRepository(s)

        async def survey(
            key: str, who: str, version: str, status: str, day: datetime, values: dict[str, Any],
            channel: str | None = None, in_campaign: bool = False,
        ) -> None:  # fmt: skip
            row = await SessionRepository(s).create(
                respondent_id=people[who], flow_version_id=versions[version], state={}, status=status, now=day
            )
            row.channel = channel
            row.campaign_id = campaign.id if in_campaign else None
            for qid, value in values.items():
                at = day + timedelta(minutes=len(answer_ids))
                if value is SKIP:
                    done = await answers.upsert(session_id=row.id, question_id=qid, value=None, raw="跳过",
                                                parsed=True, skipped=True, at=at)  # fmt: skip
                elif isinstance(value, Unreadable):
                    done = await answers.upsert(session_id=row.id, question_id=qid, value=None, raw=value.raw,
                                                parsed=False, skipped=False, at=at)  # fmt: skip
                else:
                    done = await answers.upsert(session_id=row.id, question_id=qid, value=value, raw=str(value),
                                                parsed=True, skipped=False, at=at)  # fmt: skip
                answer_ids[f"{key}.{qid}"] = done.id
            sessions[key] = row.id

        june = lambda d: datetime(2026, 6, d, 10, 0, tzinfo=UTC)  # noqa: E731
        await survey("S1", "p1", "aid1", "completed", june(2), {
            "overall": "very_good", "services": ["a", "b"], "age": 70, "visited": "yes", "opinion": "救助金发放太慢了",
        }, channel="wechat", in_campaign=True)  # fmt: skip
        await survey("S2", "p2", "aid1", "completed", june(3), {
            "overall": "good", "services": ["a"], "age": SKIP, "visited": "no", "opinion": SKIP,
        }, channel="wechat")  # fmt: skip
        await survey("S3", "p3", "aid2", "completed", june(5), {
            "overall": "poor", "services": ["a", "b", "c"], "age": Unreadable("七十多吧记不清"), "recommend": 9,
            "opinion": "希望多来看看我们",
        }, channel="telegram", in_campaign=True)  # fmt: skip
        await survey("S4", "p4", "aid2", "active", june(6), {"overall": "good"}, channel="phone")
        await survey("S5", "p5", "aid2", "declined", june(7), {})
        await survey("S6", "p6", "aid2", "opted_out", june(8), {})
        await survey("S7", "p7", "aid2", "completed", june(9), {
            "overall": "poor", "services": ["d"], "age": 99, "recommend": 0, "opinion": "测试投诉",
        }, channel="wechat")  # fmt: skip
        await survey("S8", "p8", "aid2", "completed", datetime(2026, 7, 10, 10, 0, tzinfo=UTC), {
            "overall": "average", "services": SKIP, "age": 80, "recommend": 3, "opinion": "没有，挺好的",
        })  # fmt: skip
        await survey("D1", "p9", "donor1", "completed", june(4), {"overall": "very_good"}, channel="wechat")
        await answers.set_text_kind(session_id=sessions["S1"], question_id="opinion", kind="complaint")
        await answers.set_text_kind(session_id=sessions["S3"], question_id="opinion", kind="help")
        await answers.set_text_kind(session_id=sessions["S8"], question_id="opinion", kind="none")

        def member(who: str, status: str, **times: datetime | None) -> CampaignMember:
            return CampaignMember(
                campaign_id=campaign.id, respondent_id=people[who], status=status, created_at=june(1),
                updated_at=june(1), session_id=sessions.get({"p1": "S1", "p3": "S3"}.get(who, "")), **times,
            )  # fmt: skip

        s.add_all([
            member("p1", "completed", invited_at=june(1), reached_at=june(1), started_at=june(2), completed_at=june(2)),
            member("p3", "completed", invited_at=june(1), reached_at=june(1), started_at=june(5), completed_at=june(5)),
            member("p10", "invited", invited_at=june(1)),
            member("p11", "declined", invited_at=june(1), reached_at=june(1), declined_at=june(2)),
            member("p12", "opted_out", opted_out_at=june(1)),
            member("p13", "queued"),
            member("p7", "completed", invited_at=june(1), reached_at=june(1)),  # a test respondent
        ])  # fmt: skip
        await s.flush()

        async def ticket(key: str, who: str, session: str, question: str, kind: str, text: str) -> Ticket:
            person = await repo.get(people[who])
            assert person is not None
            opened = await tickets.open_ticket(
                s, respondent=person, kind=kind, text=text, now=june(10), session_id=sessions[session],
                question_id=question, category="aid",
            )  # fmt: skip
            assert opened is not None
            return opened

        t1 = await ticket("T1", "p1", "S1", "opinion", "complaint", "救助金发放太慢了")
        t2 = await ticket("T2", "p3", "S3", "opinion", "help", "希望多来看看我们")
        t3 = await ticket("T3", "p3", "S3", "overall", "flagged", "不好")
        t4 = await ticket("T4", "p7", "S7", "opinion", "complaint", "测试投诉")
        for t in (t1, t3, t4):
            await tickets.assign(s, t, to_user=staff, by=staff, expected_version=None, now=june(11))
            await tickets.resolve(s, t, resolution="已处理", by=staff, expected_version=None, now=june(12))
        await tickets.confirm(s, t1, by=f"respondent:{people['p1']}", expected_version=None, now=june(13))
        await tickets.reopen(s, t3, by=f"respondent:{people['p3']}", expected_version=None, now=june(13))
        assert await tickets.escalate_for_sla(s, t2, now=june(28))
        wuhou_ticket_org = await s.scalar(select(Organisation.code).where(Organisation.id == t2.organisation_id))
        assert wuhou_ticket_org == "wuhou"
        ids = {"T1": t1.id, "T2": t2.id, "T3": t3.id, "T4": t4.id}
        return ReportWorld(db, orgs, people, sessions, ids, flows, campaign.id, answer_ids)


@pytest_asyncio.fixture
async def world(db: Database) -> ReportWorld:
    return await build_world(db)
