"""Flows that share a question id ("opinion" is in all nine defaults) have their free texts
found by one walk down the answers: each flow still gets its own newest texts, also when
another flow's answers fill that walk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.flows import publish_text
from bot.services.reports import build_report
from storage.db import Database
from storage.repositories.answers import AnswerRepository
from storage.repositories.organisations import Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.services.reports.conftest import AID_V1, AID_V2, T0, _version

VISIT = """\
id: visit
version: 1
category: {code: visit, name: {zh: 走访, en: Visits}}
title: {zh: 走访回访, en: Visit follow-up}
intro: {zh: 您好, en: Hello}
consent: {zh: 您愿意吗, en: Will you}
declined: {zh: 谢谢, en: Thanks}
closing: {zh: 完成, en: Done}
questions:
  - id: opinion
    type: text
    prompt: {zh: 您还有什么意见？, en: "Any comments?"}
"""


async def _opinions(db: Database, plan: list[tuple[str, str, int]]) -> None:
    """(flow code, version, day of June) per session, each answering `opinion` on that day."""
    async with db.transaction() as s:
        for n, (code, version, day) in enumerate(plan):
            person = await RespondentRepository(s).create(category=code, name=f"p{n}", at=T0)
            at = datetime(2026, 6, day, 10, 0, tzinfo=UTC)
            row = await SessionRepository(s).create(
                respondent_id=person.id, flow_version_id=await _version(s, code, int(version)), state={},
                status="completed", now=at,
            )  # fmt: skip
            await AnswerRepository(s).upsert(
                session_id=row.id, question_id="opinion", value=f"{code}第{day}天的意见", raw="", parsed=True,
                skipped=False, at=at + timedelta(minutes=1),
            )  # fmt: skip


def texts_of(report: dict, code: str) -> list[str]:
    [flow] = [f for f in report["flows"] if f["code"] == code]
    [opinion] = [q for q in flow["questions"] if q["id"] == "opinion"]
    return [t["text"] for t in opinion["texts"]]


async def test_each_flow_gets_its_own_newest_texts_when_another_flow_fills_the_walk(db: Database) -> None:
    await publish_text(db, "aid.yaml", AID_V1, now=T0)
    await publish_text(db, "aid.yaml", AID_V2, now=T0 + timedelta(hours=1))
    await publish_text(db, "visit.yaml", VISIT, now=T0)
    # Nine newer answers of aid (both versions) come before visit's two older ones: a walk of
    # 2 texts × 2 flows × 2 holds only aid's, and visit needs its own walk.
    await _opinions(db, [("aid", "1", d) for d in range(10, 15)] + [("aid", "2", d) for d in range(15, 19)]
                    + [("visit", "1", 1), ("visit", "1", 2)])  # fmt: skip
    async with db.transaction() as s:
        report = await build_report(s, scope=Scope.everything(), texts_limit=2)
    assert texts_of(report, "aid") == ["aid第18天的意见", "aid第17天的意见"]
    assert texts_of(report, "visit") == ["visit第2天的意见", "visit第1天的意见"]

    async with db.transaction() as s:
        everything = await build_report(s, scope=Scope.everything(), texts_limit=20)
    assert texts_of(everything, "aid") == [f"aid第{d}天的意见" for d in range(18, 9, -1)]
    assert texts_of(everything, "visit") == ["visit第2天的意见", "visit第1天的意见"]
