"""/console/tickets, /console/tickets/{id}, /console/queues: the organisation boundary on
every route, viewers refused, stale forms refused without a change, respondents' words
escaped, the forms' whole sequence with redirects and notices, filters, figures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from bot.app import create_app
from storage.db import Database
from storage.repositories.respondents import RespondentRepository
from tests.admin.conftest import settings_for
from tests.admin.test_console_pages import csrf_in, log_in
from tests.admin.tickets_world import XSS, add_colleagues, open_ticket, publish_flow

FORMS: list[tuple[str, dict[str, str]]] = [
    ("assign", {"user": "wangwu"}),
    ("start", {}),
    ("note", {"text": "看一眼"}),
    ("message", {"text": "您好"}),
    ("resolve", {"text": "已处理"}),
    ("reopen", {}),
]
VERSION = re.compile(r'name="version" value="(\d+)"')

Login = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    # No worker in the process: its SLA sweep would change tickets while a test reads them.
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def world(staffed: Database) -> Database:
    await add_colleagues(staffed)
    return staffed


@pytest_asyncio.fixture
async def login(app: FastAPI) -> AsyncIterator[Login]:
    """A browser of its own per account: login("zhangsan") → a client with its cookie."""
    async with _clients(app) as make:
        yield make


@asynccontextmanager
async def _clients(app: FastAPI) -> AsyncIterator[Login]:
    opened: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        opened.append(c)
        assert (await log_in(c, username)).status_code == 303
        return c

    try:
        yield make
    finally:
        for c in opened:
            await c.aclose()


async def _page(c: httpx.AsyncClient, ticket_id: int, status: int = 200) -> str:
    r = await c.get(f"/console/tickets/{ticket_id}")
    assert r.status_code == status, r.text
    return r.text


async def _post(c: httpx.AsyncClient, ticket_id: int, action: str, form: dict[str, str], page: str) -> httpx.Response:
    version = VERSION.search(page)
    data = {"csrf_token": csrf_in(page), "version": version.group(1) if version else "1", **form}
    return await c.post(f"/console/tickets/{ticket_id}/{action}", data=data)


@pytest.mark.parametrize(("action", "form"), FORMS, ids=[a for a, _ in FORMS])
async def test_another_districts_ticket_is_not_found_by_page_or_form(
    world: Database, login: Login, action: str, form: dict[str, str]
) -> None:
    jj = await open_ticket(world, "jinjiang", "救助款还没收到")
    wuhou = await login("wangwu")
    await _page(wuhou, jj.ticket_id, 404)
    listing = (await wuhou.get("/console/tickets?status=all")).text
    assert "救助款还没收到" not in listing and f"#{jj.ticket_id}" not in listing
    home = (await wuhou.get("/console")).text
    r = await _post(wuhou, jj.ticket_id, action, form, home)
    assert r.status_code == 404 and "没有这个工单" in r.text
    zhangsan = await login("zhangsan")
    page = await _page(zhangsan, jj.ticket_id)
    assert VERSION.search(page).group(1) == "1"  # type: ignore[union-attr]
    assert "未指派 unassigned" in page and "看一眼" not in page and "您好" not in page


@pytest.mark.parametrize(("action", "form"), FORMS, ids=[a for a, _ in FORMS])
async def test_a_viewer_reads_but_no_form_of_theirs_is_applied(
    world: Database, login: Login, action: str, form: dict[str, str]
) -> None:
    station = await open_ticket(world, "chunxi", "没人联系我")
    viewer = await login("lisi")
    page = await _page(viewer, station.ticket_id)
    assert "没人联系我" in page and "认领" not in page and 'action="/console/tickets/' not in page
    r = await _post(viewer, station.ticket_id, action, form, page)
    assert r.status_code == 403 and "没有这项权限" in r.text
    after = await _page(viewer, station.ticket_id)
    assert "没人联系我" in after and "已指派" not in after and "看一眼" not in after


async def test_a_stale_form_is_refused_and_shows_the_ticket_as_it_is(world: Database, login: Login) -> None:
    t = await open_ticket(world, "jinjiang", "救助款还没收到")
    zhangsan, zhaoliu = await login("zhangsan"), await login("zhaoliu")
    old = await _page(zhangsan, t.ticket_id)
    taken = await _post(zhaoliu, t.ticket_id, "assign", {"user": "zhaoliu"}, await _page(zhaoliu, t.ticket_id))
    assert taken.status_code == 303
    for action, form in [("assign", {"user": "zhangsan"}), ("note", {"text": "过时的备注"}), ("message", {"text": "过时的消息"})]:
        r = await _post(zhangsan, t.ticket_id, action, form, old)
        assert r.status_code == 409, action
        assert "已被他人修改" in r.text and "changed by someone else" in r.text and 'role="alert"' in r.text
        assert "赵六" in r.text and 'name="version" value="2"' in r.text  # the page as it is now, to act again on
    now = await _page(zhangsan, t.ticket_id)
    assert "过时的备注" not in now and "过时的消息" not in now
    assert now.count("状态变更") == 1  # the one assignment, to 赵六


async def test_respondents_words_are_escaped_and_phones_masked(world: Database, login: Login) -> None:
    await publish_flow(world)
    t = await open_ticket(world, "jinjiang", XSS, with_survey=True)
    staff = await login("zhangsan")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for html in [await _page(staff, t.ticket_id), (await staff.get("/console/tickets")).text]:
        assert escaped in html and "<script" not in html
    page = await _page(staff, t.ticket_id)
    assert page.count(escaped) >= 4  # the ticket, the answer, their message, the history
    assert "*******5678" in page and "13812345678" not in page
    assert "您对红十字会的救助项目" in page and "不满意" in page and "本工单来自此题" in page
    assert "人道救助" in page and "humanitarian_aid" not in page  # the category by its name
    admin = await login("admin")
    assert "13812345678" in await _page(admin, t.ticket_id)


async def test_the_forms_from_taking_a_ticket_to_reopening_it(world: Database, login: Login) -> None:
    t = await open_ticket(world, "chunxi", "救助款还没收到")
    c = await login("zhangsan")
    page = await _page(c, t.ticket_id)
    assert "认领" in page and "已解决" not in page and "开始处理" not in page and "重新打开 <span" not in page
    steps = [
        ("assign", {"user": "zhangsan"}, "已指派 Assigned"),
        ("note", {"text": "已电话联系"}, "备注已保存"),
        ("message", {"text": "您好，我们正在处理"}, "消息已排队发送"),
        ("start", {}, "已开始处理"),
        ("resolve", {"text": "补发了救助款"}, "已标记为解决"),
        ("reopen", {"text": "受访者说还没收到"}, "已重新打开"),
    ]
    for action, form, notice in steps:
        r = await _post(c, t.ticket_id, action, form, page)
        assert r.status_code == 303, (action, r.text)
        assert r.headers["location"] == f"/console/tickets/{t.ticket_id}?done={action}"
        page = (await c.get(r.headers["location"])).text
        assert notice in page, action
        assert 'name="csrf_token"' in page
    for words in ["已电话联系", "您好，我们正在处理", "补发了救助款", "受访者说还没收到", "重新打开"]:
        assert words in page
    assert 'name="version" value="5"' in page and "认领" in page  # reopened: to be taken again
    assert (await _post(c, t.ticket_id, "note", {"text": "   "}, page)).status_code == 422
    forged = await c.post(f"/console/tickets/{t.ticket_id}/note", data={"csrf_token": "forged", "version": "5", "text": "x"})
    assert forged.status_code == 403
    assert (await _post(c, t.ticket_id, "bogus", {}, page)).status_code == 404


async def test_a_message_to_someone_unreachable_says_so(world: Database, login: Login) -> None:
    t = await open_ticket(world, "jinjiang", "救助款还没收到")
    async with world.transaction() as s:
        person = await RespondentRepository(s).get(t.respondent_id)
        assert person is not None
        await RespondentRepository(s).opt_out(person, at=person.created_at)
    c = await login("zhangsan")
    r = await _post(c, t.ticket_id, "message", {"text": "您好"}, await _page(c, t.ticket_id))
    assert r.status_code == 303 and r.headers["location"].endswith("done=message&delivery=unreachable")
    page = (await c.get(r.headers["location"])).text
    assert "受访者无法联系" in page and "无法联系 unreachable" in page


async def test_the_list_filters_and_queues(world: Database, login: Login) -> None:
    old = await open_ticket(world, "jinjiang", "救助款 还没收到", minutes_ago=60 * 50)
    await open_ticket(world, "chunxi", "培训证书 没有寄到", kind="help")
    await open_ticket(world, "wuhou", "救助款 太少")
    c = await login("zhangsan")
    r = await c.get("/console/tickets")
    assert r.status_code == 200
    assert "救助款 还没收到" in r.text and "培训证书" in r.text and "太少" not in r.text
    assert "共 2 个" in r.text and 'class="badge overdue"' in r.text
    assert 'class="num overdue"' in r.text  # the queue with the overdue ticket, in red
    assert "status=open&amp;overdue=1" in r.text  # … and a link to those tickets
    searched = (await c.get("/console/tickets?q=证书&status=open&queue=&assignee=&age=&category=")).text
    assert "培训证书" in searched and "救助款" not in searched.split("共")[1]
    aged = (await c.get("/console/tickets?age=48")).text
    assert f"#{old.ticket_id}" in aged and "培训证书" not in aged
    late = (await c.get("/console/tickets?status=open&overdue=1")).text
    assert f"#{old.ticket_id}" in late and "培训证书" not in late and "共 1 个" in late
    assert 'name="overdue" value="1" checked' in late  # the filter stays shown as chosen
    assert "共 0 个" in (await c.get("/console/tickets?status=resolved")).text
    queues = await c.get("/console/queues")
    assert queues.status_code == 200 and "锦江区红十字会" in queues.text and "武侯" not in queues.text
    assert 'aria-current="page"' in queues.text and ">队列 <" in queues.text


def _waiting(page: str, href: str) -> int:
    """The number on the home page's tile that links to `href`."""
    found = re.search(rf'<a href="{re.escape(href)}"><span class="n">(\d+)</span>', page)
    assert found is not None, f"no tile for {href}"
    return int(found.group(1))


async def test_home_shows_what_waits_with_links_to_those_tickets(world: Database, login: Login) -> None:
    old = await open_ticket(world, "jinjiang", "救助款 还没收到", minutes_ago=60 * 50)  # past its deadlines
    station = await open_ticket(world, "chunxi", "培训证书 没有寄到", kind="help")
    await open_ticket(world, "wuhou", "救助款 太少")  # another district's
    c = await login("zhangsan")
    home = (await c.get("/console")).text
    mine, nobodys = "/console/tickets?status=open&amp;assignee=me", "/console/tickets?status=open&amp;assignee=none"
    late, resolved = "/console/tickets?status=open&amp;overdue=1", "/console/tickets?status=resolved"
    assert (_waiting(home, mine), _waiting(home, nobodys), _waiting(home, late), _waiting(home, resolved)) == (0, 2, 1, 0)
    assert '<li class="overdue">' in home
    page = await _page(c, station.ticket_id)
    assert (await _post(c, station.ticket_id, "assign", {"user": "zhangsan"}, page)).status_code == 303
    home = (await c.get("/console")).text
    assert (_waiting(home, mine), _waiting(home, nobodys), _waiting(home, late)) == (1, 1, 1)
    # Each tile's list holds what it counted.
    assert f"#{station.ticket_id}" in (await c.get(mine.replace("&amp;", "&"))).text
    assert f"#{old.ticket_id}" in (await c.get(late.replace("&amp;", "&"))).text
    viewer = await login("lisi")  # a station's viewer: nothing is theirs to take
    assert mine not in (await viewer.get("/console")).text
