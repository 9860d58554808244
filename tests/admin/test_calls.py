"""/console/calls: the call list by organisation scope, a number shown to call (audited),
a phone interview run in the console through the same flow and handlers as chat (stored
with channel "phone", the interviewer's name and the campaign), resumed after an
interruption, and calls that led to no interview."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.channels.base import Inbound
from bot.services.runtime import Runtime
from storage.db import Database
from storage.models import (
    Answer,
    AuditEntry,
    Campaign,
    CampaignMember,
    Flow,
    Organisation,
    SurveySession,
    Ticket,
)
from storage.repositories.respondents import RespondentRepository
from tests.admin.conftest import T0, settings_for
from tests.admin.test_console_pages import csrf_in, log_in
from tests.admin.tickets_world import add_colleagues, publish_flow

# The same words in chat and on the phone: yes; 一般 (→ the open question); a complaint;
# 申请资料复杂; two services; a suggestion.
INPUTS = ["1", "3", "工作人员态度很差，等了很久也没人管", "2", "1,3", "希望简化申请材料"]


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    await publish_flow(staffed)
    await add_colleagues(staffed)
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


async def _org(db: Database, code: str) -> int:
    async with db.transaction() as s:
        found = await s.scalar(select(Organisation.id).where(Organisation.code == code))
        assert found is not None
        return found


async def _person(db: Database, org: str, name: str, phone: str | None = "13812345678") -> int:
    org_id = await _org(db, org)
    async with db.transaction() as s:
        return (await RespondentRepository(s).create(
            category="humanitarian_aid", name=name, phone=phone, organisation_id=org_id, at=T0
        )).id  # fmt: skip


async def _member(db: Database, respondent_id: int, *, reason: str = "wechat: no follower, no template") -> int:
    now = datetime.now(UTC)
    async with db.transaction() as s:
        flow_id = await s.scalar(select(Flow.id).where(Flow.code == "humanitarian_aid"))
        org_id = await s.scalar(select(Organisation.id).where(Organisation.code == "chengdu"))
        assert flow_id is not None and org_id is not None
        campaign = Campaign(organisation_id=org_id, name="2026年救助回访", flow_id=flow_id, segment={}, status="running",
                            created_at=now, updated_at=now)  # fmt: skip
        s.add(campaign)
        await s.flush()
        member = CampaignMember(campaign_id=campaign.id, respondent_id=respondent_id, status="unreachable",
                                reason=reason, created_at=now, updated_at=now)  # fmt: skip
        s.add(member)
        await s.flush()
        return member.id


def _seen(html: str) -> str:
    found = re.search(r'name="seen" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _interview(client: httpx.AsyncClient, key: str, inputs: list[str]) -> httpx.Response:
    page = await client.get(f"/console/calls/{key}/interview")
    assert page.status_code == 200, page.text
    now = await client.post(f"/console/calls/{key}/interview/start", data={"csrf_token": csrf_in(page.text)})
    assert now.status_code == 200 and "您愿意回答几个简短的问题吗" in now.text, now.text
    _read_aloud_only(now.text)
    for text in inputs:
        now = await client.post(
            f"/console/calls/{key}/interview/answer",
            # A single number is a clicked option; the rest typed.
            data={
                "csrf_token": csrf_in(now.text),
                "seen": _seen(now.text),
                ("choice" if text.isdigit() else "answer"): text,
            },
        )
        assert now.status_code == 200, now.text
        _read_aloud_only(now.text)
    return now


def _read_aloud_only(html: str) -> None:
    """What the interviewer reads to the person has the questions and options, not the
    chat's "how to type" lines."""
    said = re.search(r'<ol class="say">(.*?)</ol>', html, re.S)
    if said is None:
        return
    for chat_only in ("请回复一个数字", "请直接输入您的回答", "请回复“1”或“好的”开始", "可回复“跳过”", "请回复“是”或“否”"):
        assert chat_only not in said.group(1), chat_only


async def _answers(db: Database, respondent_id: int) -> tuple[SurveySession, list[tuple]]:
    async with db.transaction() as s:
        session = await s.scalar(select(SurveySession).where(SurveySession.respondent_id == respondent_id))
        assert session is not None
        rows = await s.scalars(select(Answer).where(Answer.session_id == session.id).order_by(Answer.id))
        return session, [(a.question_id, a.value, a.raw_text, a.parsed, a.skipped, a.text_kind) for a in rows]


async def _tickets(db: Database, respondent_id: int) -> list[tuple[str, str | None, str]]:
    async with db.transaction() as s:
        return [(t.kind, t.question_id, t.text) for t in await s.scalars(
            select(Ticket).where(Ticket.respondent_id == respondent_id).order_by(Ticket.id))]  # fmt: skip


async def test_a_phone_interview_stores_what_chat_would_with_its_channel_and_interviewer(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    # In chat: a Telegram user of 锦江 answers the same words.
    runtime = Runtime(staffed)
    jinjiang = await _org(staffed, "jinjiang")
    for n, text in enumerate([None, *INPUTS]):
        await runtime.handle(Inbound(
            channel="telegram", account="bot", external_id="chat-1", kind="start" if text is None else "text",
            delivery_key=f"tg:{n}", at=datetime.now(UTC), text=text,
            start_payload="humanitarian_aid" if text is None else None, organisation_id=jinjiang,
        ))  # fmt: skip
    async with staffed.transaction() as s:
        chat_person = await RespondentRepository(s).by_identity("telegram", "bot", "chat-1")
        assert chat_person is not None
    chat_session, chat_answers = await _answers(staffed, chat_person.id)
    assert chat_session.status == "completed" and len(chat_answers) == 5

    phone_person = await _person(staffed, "jinjiang", "陈阿姨")
    await log_in(client, "zhangsan")
    done = await _interview(client, f"r{phone_person}", INPUTS)
    assert "访谈已结束" in done.text and "非常感谢您" in done.text
    session, answers = await _answers(staffed, phone_person)
    assert (session.channel, session.interviewer, session.campaign_id, session.status) == (
        "phone",
        "张三",
        None,
        "completed",
    )
    assert answers == chat_answers
    assert await _tickets(staffed, phone_person) == await _tickets(staffed, chat_person.id) != []
    # Interviewed: no longer on the call list.
    assert "陈阿姨" not in (await client.get("/console/calls")).text


async def test_a_campaign_call_from_the_list_to_completion_and_resumed_after_an_interruption(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    person = await _person(staffed, "chunxi", "刘大爷", "13900001111")
    member = await _member(staffed, person)
    await log_in(client, "zhangsan")
    listed = await client.get("/console/calls")
    assert listed.status_code == 200 and "刘大爷" in listed.text and "2026年救助回访" in listed.text
    assert "wechat: no follower" in listed.text and "*******1111" in listed.text and "13900001111" not in listed.text
    half = await _interview(client, f"m{member}", INPUTS[:3])
    assert "申请资料" in half.text  # the next question, main_problem, to read aloud
    async with staffed.transaction() as s:
        row = await s.get(CampaignMember, member)
        assert row is not None and (row.status, row.interviewer) == ("started", "张三")
    # The line dropped; later the interviewer opens it again: same question, same session.
    assert "访谈中" in (await client.get("/console/calls")).text
    again = await client.get(f"/console/calls/m{member}/interview")
    assert "申请资料" in again.text and _seen(again.text) == _seen(half.text)
    # A stale form (the page before the last answer) changes nothing.
    stale = await client.post(f"/console/calls/m{member}/interview/answer",
                              data={"csrf_token": csrf_in(again.text), "seen": "0" * 24, "answer": "1"})  # fmt: skip
    assert "页面已过期" in stale.text
    now = again
    for text in INPUTS[3:]:
        now = await client.post(f"/console/calls/m{member}/interview/answer",
                                data={"csrf_token": csrf_in(now.text), "seen": _seen(now.text), "answer": text})  # fmt: skip
    assert "访谈已结束" in now.text
    session, answers = await _answers(staffed, person)
    assert (session.channel, session.interviewer, session.campaign_id) == (
        "phone",
        "张三",
        (await _campaign_of(staffed, member)),
    )
    assert [a[0] for a in answers] == ["overall", "improve", "main_problem", "other_services", "opinion"]
    async with staffed.transaction() as s:
        row = await s.get(CampaignMember, member)
        assert row is not None and (row.status, row.session_id, row.interviewer) == ("completed", session.id, "张三")
    assert "刘大爷" not in (await client.get("/console/calls")).text


async def _campaign_of(db: Database, member: int) -> int:
    async with db.transaction() as s:
        row = await s.get(CampaignMember, member)
        assert row is not None
        return row.campaign_id


async def test_the_call_list_keeps_to_the_scope_and_viewers_cannot_interview(app: FastAPI, staffed: Database) -> None:
    member = await _member(staffed, await _person(staffed, "chunxi", "刘大爷"))
    loner = await _person(staffed, "jinjiang", "陈阿姨", "13700002222")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as wuhou,
        httpx.AsyncClient(transport=transport, base_url="http://t") as viewer,
    ):
        await log_in(wuhou, "wangwu")  # staff of 武侯
        listed = await wuhou.get("/console/calls")
        assert listed.status_code == 200 and "刘大爷" not in listed.text and "陈阿姨" not in listed.text
        for key in (f"m{member}", f"r{loner}"):
            assert (await wuhou.get(f"/console/calls/{key}/interview")).status_code == 404
            page = await wuhou.get("/console/calls")
            r = await wuhou.post(f"/console/calls/{key}/number", data={"csrf_token": csrf_in(page.text)})
            assert r.status_code == 404 and "13700002222" not in r.text
        await log_in(viewer, "lisi")  # viewer of 春熙路
        seen = await viewer.get("/console/calls")
        assert "刘大爷" in seen.text and "陈阿姨" not in seen.text and "开始访谈" not in seen.text
        # The home page counts the same people: 武侯 has none to call, 春熙路 one.
        for who, expected in ((wuhou, 0), (viewer, 1)):
            home = (await who.get("/console")).text
            assert f'<a href="/console/calls"><span class="n">{expected}</span>' in home
        assert (await viewer.get(f"/console/calls/m{member}/interview")).status_code == 403
        r = await viewer.post(f"/console/calls/m{member}/interview/start", data={"csrf_token": csrf_in(seen.text)})
        assert r.status_code == 403
    async with staffed.transaction() as s:
        assert await s.scalar(select(SurveySession.id)) is None


async def test_showing_a_number_is_audited_and_calls_without_an_interview_are_recorded(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    member = await _member(staffed, await _person(staffed, "jinjiang", "刘大爷", "13900001111"))
    refuser = await _member(staffed, await _person(staffed, "jinjiang", "王奶奶", "13600003333"))
    wrong = await _person(staffed, "jinjiang", "陈阿姨", "13700002222")
    await log_in(client, "zhangsan")
    page = await client.get("/console/calls")
    shown = await client.post(f"/console/calls/m{member}/number", data={"csrf_token": csrf_in(page.text)})
    assert shown.status_code == 200 and 'id="number">13900001111<' in shown.text
    token = csrf_in(page.text)
    for key, outcome, note in ((f"m{member}", "call_back", "明天下午三点"), (f"m{refuser}", "refused", ""),
                               (f"r{wrong}", "wrong_number", "")):  # fmt: skip
        r = await client.post(
            f"/console/calls/{key}/outcome", data={"csrf_token": token, "outcome": outcome, "note": note}
        )
        assert r.status_code == 303, r.text
    bad = await client.post(f"/console/calls/r{wrong}/outcome", data={"csrf_token": token, "outcome": "hung_up"})
    assert bad.status_code == 400 and "未知的结果" in bad.text
    async with staffed.transaction() as s:
        later = await s.get(CampaignMember, member)
        no = await s.get(CampaignMember, refuser)
        assert later is not None and no is not None
        assert (
            later.status == "unreachable"
            and "约定回拨" in (later.reason or "")
            and "明天下午三点" in (later.reason or "")
        )
        assert (no.status, no.interviewer) == ("declined", "张三") and no.declined_at is not None
        actions = [(e.action, e.actor) for e in await s.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("phone_number_shown", "call_outcome"))).order_by(AuditEntry.id))]  # fmt: skip
    assert actions == [("phone_number_shown", "staff:zhangsan")] + [("call_outcome", "staff:zhangsan")] * 3
    listed = (await client.get("/console/calls")).text
    assert "刘大爷" in listed and "约定回拨" in listed  # still to call, with when
    assert "王奶奶" not in listed and "陈阿姨" not in listed  # refused; a wrong number
