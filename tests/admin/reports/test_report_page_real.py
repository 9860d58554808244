"""/console/reports and the figure downloads on the real report (bot.services.reports),
after surveys taken through the runtime: the figures the page and the workbook show are the
answers given, in the caller's scope."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import httpx
import openpyxl
import pytest_asyncio
from docx import Document
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.services.runtime import Runtime
from storage.db import Database
from storage.models import Organisation
from tests.admin.conftest import settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.admin.test_console_pages import log_in
from tests.admin.tickets_world import publish_flow
from tests.bot.conftest import Chat


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    # No stand-in here: the report is built by bot.services.reports.
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def surveyed(staffed: Database) -> None:
    """Two people of 锦江 rate the aid 好 and 非常好; one of 武侯 rates it 不好."""
    await publish_flow(staffed)
    async with staffed.transaction() as s:
        orgs = {code: oid for oid, code in await s.execute(select(Organisation.id, Organisation.code))}
    runtime = Runtime(staffed)
    for who, org, rating in [("a", "jinjiang", "好"), ("b", "jinjiang", "非常好"), ("c", "wuhou", "不好")]:
        chat = Chat(runtime, who, channel="wechat", account="gh_test")
        chat.organisation_id = orgs[org]
        await chat.start("人道救助")
        await chat.say("好的")
        await chat.say(rating)


async def test_the_page_shows_the_answers_of_the_callers_districts(
    client: httpx.AsyncClient, surveyed: None, staffed: Database
) -> None:
    async with staffed.transaction() as s:
        jinjiang = await s.scalar(select(Organisation.id).where(Organisation.code == "jinjiang"))
    await log_in(client, "zhangsan")  # 锦江
    r = await client.get("/console/reports")
    assert r.status_code == 200, r.text
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", r.text))
    assert (rows["非常好"], rows["好"], rows["不好"]) == ("1", "1", "0")  # 武侯's 不好 is not 锦江's
    assert "50%" in r.text and 'class="chart"' in r.text
    assert 'id="left-out"' not in r.text  # no test respondents here

    # A try-out in the simulator (a test respondent of 锦江): not counted, but said.
    tester = Chat(Runtime(staffed), "t", channel="simulator", account="sim")
    tester.organisation_id = jinjiang
    await tester.start("人道救助")
    await tester.say("好的")
    await tester.say("不好")
    r = await client.get("/console/reports")
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", r.text))
    assert (rows["非常好"], rows["好"], rows["不好"]) == ("1", "1", "0")
    assert 'id="left-out"' in r.text and "测试受访者的问卷 1 份未计入" in r.text

    r = await client.get("/console/reports", params={"category": "pets"})
    assert r.status_code == 422 and "未知的类别 unknown category: pets" in r.text


async def test_the_figures_workbook_holds_the_same_counts(client: httpx.AsyncClient, surveyed: None) -> None:
    admin = await bearer(client, "admin")  # 成都: everyone
    r = await client.get("/api/v1/reports/figures.xlsx", params={"by": "organisation", "question": "overall"},
                         headers=auth(admin))  # fmt: skip
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    figures = [list(x) for x in book["数据 figures"].iter_rows(values_only=True)]
    overall = {row[5]: row[7] for row in figures if row[2] == "overall" and str(row[5]).startswith("option:")}
    assert (overall["option:very_good"], overall["option:good"], overall["option:poor"]) == (1, 1, 1)
    crosstab = [list(x) for x in book["交叉 crosstab"].iter_rows(values_only=True)]
    assert {row[0] for row in crosstab[1:]} == {"锦江区红十字会", "武侯区红十字会"}


async def test_the_word_report_for_a_viewer_and_refusals_in_both_languages(
    client: httpx.AsyncClient, surveyed: None
) -> None:
    lisi = await bearer(client, "lisi")  # a viewer of 春熙路, under 锦江
    r = await client.get("/api/v1/reports/report.docx", headers=auth(lisi))
    assert r.status_code == 200, r.text
    assert "filename*=UTF-8''%E5%9B%9E%E8%AE%BF%E6%8A%A5%E5%91%8A-" in r.headers["content-disposition"]  # 回访报告-
    text = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "回访" in text
    # A filter the report itself refuses is a 422 with its reason, not a server error.
    for path in ("figures.csv", "figures.xlsx", "report.docx"):
        r = await client.get(f"/api/v1/reports/{path}", params={"category": "pets"}, headers=auth(lisi))
        assert r.status_code == 422 and "未知的类别 unknown category: pets" in r.json()["detail"], r.text
    # A category by its name, as staff say it, is the same report as by its code.
    by_code = await client.get("/api/v1/reports", params={"category": "humanitarian_aid"}, headers=auth(lisi))
    by_name = await client.get("/api/v1/reports", params={"category": "人道救助"}, headers=auth(lisi))
    assert by_code.status_code == by_name.status_code == 200, by_name.text
    assert by_name.json()["totals"] == by_code.json()["totals"] and by_name.json()["flows"] == by_code.json()["flows"]
