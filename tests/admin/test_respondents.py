"""/api/v1/respondents and /console/respondents: the organisation boundary, every role
reading, phones whole only for admins, search by name and phone, a person's history with
answers and tickets, respondents' words escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from storage.db import Database
from storage.models import Organisation, SurveySession
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from tests.admin.conftest import T0, settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.admin.test_console_pages import log_in
from tests.admin.tickets_world import XSS, add_colleagues, open_ticket, publish_flow


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    # No worker in the process: its sweeps would change tickets while a test reads them.
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def world(staffed: Database) -> Database:
    await add_colleagues(staffed)
    return staffed


async def person(db: Database, org: str, name: str, phone: str | None, *, is_test: bool = False) -> int:
    async with db.transaction() as s:
        org_id = await s.scalar(select(Organisation.id).where(Organisation.code == org))
        r = await RespondentRepository(s).create(
            category="humanitarian_aid", name=name, phone=phone, organisation_id=org_id, is_test=is_test, at=T0
        )
        return r.id


async def _list(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/respondents", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_another_districts_respondent_is_not_found_nor_listed(client: httpx.AsyncClient, world: Database) -> None:
    jj = await person(world, "jinjiang", "陈阿姨", "13812345678")
    wh = await person(world, "wuhou", "刘大爷", "13900001111")
    zhangsan = await bearer(client, "zhangsan")
    assert (await client.get(f"/api/v1/respondents/{wh}", headers=auth(zhangsan))).status_code == 404
    assert (await client.get(f"/api/v1/respondents/{jj}", headers=auth(zhangsan))).status_code == 200
    listed = await _list(client, zhangsan)
    assert [p["id"] for p in listed["items"]] == [jj] and listed["total"] == 1
    # Naming an organisation outside the scope widens nothing.
    assert (await _list(client, zhangsan, organisation="wuhou"))["total"] == 0
    admin = await bearer(client, "admin")
    assert {p["id"] for p in (await _list(client, admin))["items"]} == {jj, wh}
    assert [p["id"] for p in (await _list(client, admin, organisation="wuhou"))["items"]] == [wh]


async def test_a_viewer_reads_and_phones_are_whole_only_for_admins(client: httpx.AsyncClient, world: Database) -> None:
    await publish_flow(world)  # the category's name comes from its flow
    station = await person(world, "chunxi", "陈阿姨", "13812345678")
    for username, phone in (("admin", "13812345678"), ("zhangsan", "*******5678"), ("lisi", "*******5678")):
        token = await bearer(client, username)
        r = await client.get(f"/api/v1/respondents/{station}", headers=auth(token))
        assert r.status_code == 200, (username, r.text)
        body = r.json()["respondent"]
        assert body["phone"] == phone and body["category_name"] == "人道救助", username
        assert body["organisation"] == "chunxi"
        assert (await _list(client, token))["items"][0]["phone"] == phone


async def test_search_by_name_phone_and_tests_left_out(client: httpx.AsyncClient, world: Database) -> None:
    chen = await person(world, "jinjiang", "陈阿姨", "+8613812345678")
    wang = await person(world, "chunxi", "王大姐", "13900005678")
    trial = await person(world, "jinjiang", "陈测试", "13700002222", is_test=True)
    zhangsan = await bearer(client, "zhangsan")

    async def ids(**params: Any) -> set[int]:
        return {p["id"] for p in (await _list(client, zhangsan, **params))["items"]}

    assert await ids(q="陈") == {chen}
    assert await ids(q="陈", include_tests="true") == {chen, trial}
    assert await ids(q="5678") == {chen, wang}
    # Shown masked, but a number a caller gave on the phone still finds them.
    assert await ids(q="138 1234 5678") == {chen}
    assert await ids(q="13900005678") == {wang}
    assert await ids(q="13900009999") == set()
    assert await ids(q="王", category="humanitarian_aid") == {wang}
    assert await ids(category="elderly_care") == set()
    # Letters on a phone: the pinyin of the name, whole or its initials.
    assert await ids(q="cay") == {chen} and await ids(q="chenayi") == {chen} and await ids(q="Chen A") == {chen}
    assert await ids(q="wdj") == {wang} and await ids(q="wang") == {wang}
    assert await ids(q="zsf") == set()
    # Masked numbers cannot be read back by searching longer and longer ends of them
    # ("05678", "005678", …, one digit at a time); an admin, who sees them whole, can.
    for end in ("05678", "005678", "0005678", "00005678", "900005678", "3900005678"):
        assert await ids(q=end) == set(), end
    admin = await bearer(client, "admin")
    assert {p["id"] for p in (await _list(client, admin, q="05678"))["items"]} == {wang}


async def test_history_shows_answers_with_labels_and_tickets(client: httpx.AsyncClient, world: Database) -> None:
    await publish_flow(world)
    t = await open_ticket(world, "jinjiang", XSS, with_survey=True)
    async with world.transaction() as s:
        session_id = await s.scalar(select(SurveySession.id).where(SurveySession.respondent_id == t.respondent_id))
        assert session_id is not None
        await AnswerRepository(s).upsert(
            session_id=session_id, question_id="overall", value="poor", raw="差", parsed=True, skipped=False, at=T0
        )
    token = await bearer(client, "lisi")
    assert (await client.get(f"/api/v1/respondents/{t.respondent_id}", headers=auth(token))).status_code == 404
    token = await bearer(client, "zhangsan")
    r = await client.get(f"/api/v1/respondents/{t.respondent_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["respondent"]["channels"] == ["console:local"] and body["respondent"]["phone"] == "*******5678"
    [session] = body["sessions"]
    assert session["flow"] == "humanitarian_aid" and session["status"] == "active"
    answers = {a["question_id"]: a for a in session["answers"]}
    assert answers["overall"]["prompt_zh"].startswith("您对红十字会的救助项目")
    assert answers["overall"]["value"] == "不好" and answers["overall"]["raw_text"] == "不满意\n差"  # every word they typed is kept
    assert answers["opinion"]["raw_text"] == XSS
    assert [(x["id"], x["link"]) for x in body["tickets"]] == [(t.ticket_id, f"/console/tickets/{t.ticket_id}")]
    assert body["tickets"][0]["excerpt"] == XSS


@asynccontextmanager
async def _console(app: FastAPI, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await log_in(c, username)).status_code == 303
        yield c


async def test_pages_scope_mask_escape_and_link_from_the_ticket(app: FastAPI, world: Database) -> None:
    await publish_flow(world)
    t = await open_ticket(world, "jinjiang", XSS, with_survey=True)
    wh = await person(world, "wuhou", "刘大爷", "13900001111")
    async with _console(app, "zhangsan") as c:
        ticket = (await c.get(f"/console/tickets/{t.ticket_id}")).text
        assert f'href="/console/respondents/{t.respondent_id}"' in ticket and "查看回访记录" in ticket
        page = await c.get(f"/console/respondents/{t.respondent_id}")
        assert page.status_code == 200
        html = page.text
        assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "*******5678" in html and "13812345678" not in html
        assert "您对红十字会的救助项目" in html and f'href="/console/tickets/{t.ticket_id}"' in html
        assert (await c.get(f"/console/respondents/{wh}")).status_code == 404
        listing = (await c.get("/console/respondents?q=&category=")).text
        assert "陈阿姨" in listing and "刘大爷" not in listing
        assert 'href="/console/respondents"' in listing  # the nav links it now
        assert "陈阿姨" not in (await c.get("/console/respondents?q=9999&category=")).text
    async with _console(app, "admin") as c:
        html = (await c.get(f"/console/respondents/{t.respondent_id}")).text
        assert "13812345678" in html
        assert "刘大爷" in (await c.get("/console/respondents?q=1111")).text
