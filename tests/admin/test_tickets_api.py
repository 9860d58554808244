"""/api/v1/tickets and /api/v1/queues: the organisation boundary on every route, viewers
refused, stale versions refused without a change, the whole sequence of a ticket with its
history, filters, search, figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from bot.app import create_app
from storage.db import Database
from tests.admin.conftest import settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.admin.tickets_world import XSS, add_colleagues, open_ticket, publish_flow

ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("assign", {"user": "wangwu"}),
    ("start", {}),
    ("notes", {"text": "看一眼"}),
    ("messages", {"text": "您好"}),
    ("resolve", {"resolution": "已处理"}),
    ("reopen", {}),
]


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    # No worker in the process: its SLA sweep would escalate the tickets opened in the
    # past (T0) while a test looks at them.
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def world(staffed: Database) -> Database:
    await add_colleagues(staffed)
    return staffed


async def _get(client: httpx.AsyncClient, token: str, ticket_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
async def test_another_districts_ticket_is_not_found_by_any_route(
    client: httpx.AsyncClient, world: Database, action: str, body: dict[str, Any]
) -> None:
    jj = await open_ticket(world, "jinjiang", "救助款还没收到")
    wuhou = await bearer(client, "wangwu")
    assert (await client.get(f"/api/v1/tickets/{jj.ticket_id}", headers=auth(wuhou))).status_code == 404
    listed = await client.get("/api/v1/tickets", headers=auth(wuhou))
    assert listed.status_code == 200 and listed.json()["total"] == 0
    r = await client.post(f"/api/v1/tickets/{jj.ticket_id}/{action}", json=body, headers=auth(wuhou))
    assert r.status_code == 404 and r.json()["detail"] == "没有这个工单 no such ticket"
    # The same answer as a ticket that does not exist at all.
    assert (await client.post(f"/api/v1/tickets/999999/{action}", json=body, headers=auth(wuhou))).status_code == 404
    seen = await _get(client, await bearer(client, "zhangsan"), jj.ticket_id)
    assert (seen["status"], seen["version"]) == ("new", 1)
    assert [e["kind"] for e in seen["history"]] == ["opened"]


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
async def test_a_viewer_reads_but_cannot_act(
    client: httpx.AsyncClient, world: Database, action: str, body: dict[str, Any]
) -> None:
    station = await open_ticket(world, "chunxi", "没人联系我")
    viewer = await bearer(client, "lisi")
    assert (await _get(client, viewer, station.ticket_id))["text"] == "没人联系我"
    r = await client.post(f"/api/v1/tickets/{station.ticket_id}/{action}", json=body, headers=auth(viewer))
    assert r.status_code == 403
    after = await _get(client, viewer, station.ticket_id)
    assert (after["status"], after["version"], len(after["history"])) == ("new", 1, 1)


async def test_the_whole_sequence_through_the_api_with_its_history(client: httpx.AsyncClient, world: Database) -> None:
    t = await open_ticket(world, "chunxi", "救助款还没收到")
    token = await bearer(client, "zhangsan")
    base = f"/api/v1/tickets/{t.ticket_id}"
    steps: list[tuple[str, dict[str, Any], str, int]] = [
        ("assign", {"user": "zhangsan", "version": 1}, "assigned", 2),
        ("notes", {"text": "已电话联系", "version": 2}, "assigned", 2),
        ("messages", {"text": "您好，我们正在处理", "version": 2}, "assigned", 2),
        ("start", {"version": 2}, "in_progress", 3),
        ("resolve", {"resolution": "补发了救助款", "version": 3}, "resolved", 4),
        ("reopen", {"reason": "还没收到", "version": 4}, "reopened", 5),
    ]
    for action, body, status, version in steps:
        r = await client.post(f"{base}/{action}", json=body, headers=auth(token))
        assert r.status_code == 200, (action, r.text)
        assert (r.json()["status"], r.json()["version"]) == (status, version), action
    detail = await _get(client, token, t.ticket_id)
    assert detail["assignee"] == "zhangsan" and detail["assignee_name"] == "张三"
    assert detail["reopen_count"] == 1 and detail["resolution"] is None and detail["priority"] == 1
    history = [(e["kind"], e["from_status"], e["to_status"], e["text"]) for e in detail["history"] if e["kind"] != "notified"]
    assert history == [
        ("opened", None, "new", "救助款还没收到"),
        ("moved", "new", "assigned", None),
        ("note", None, None, "已电话联系"),
        ("message", None, None, "您好，我们正在处理"),
        ("moved", "assigned", "in_progress", None),
        ("moved", "in_progress", "resolved", "补发了救助款"),
        ("moved", "resolved", "reopened", "还没收到"),
    ]
    message = next(e for e in detail["history"] if e["kind"] == "message")
    assert message["actor"] == "张三" and message["data"]["delivery"] == "queued"
    assert detail["actions"] == ["assign"]  # reopened: someone takes it again


async def test_a_stale_version_is_refused_with_409_and_changes_nothing(
    client: httpx.AsyncClient, world: Database
) -> None:
    t = await open_ticket(world, "jinjiang", "救助款还没收到")
    token = await bearer(client, "zhangsan")
    base = f"/api/v1/tickets/{t.ticket_id}"
    assert (await client.post(f"{base}/assign", json={"user": "zhaoliu", "version": 1}, headers=auth(token))).status_code == 200
    before = await _get(client, token, t.ticket_id)
    for action, body in [
        ("assign", {"user": "zhangsan", "version": 1}),
        ("start", {"version": 1}),
        ("resolve", {"resolution": "已处理", "version": 1}),
        ("notes", {"text": "看一眼", "version": 1}),
        ("messages", {"text": "您好", "version": 1}),
    ]:
        r = await client.post(f"{base}/{action}", json=body, headers=auth(token))
        assert r.status_code == 409, (action, r.text)
        assert "已被他人修改" in r.json()["detail"] and "changed by someone else" in r.json()["detail"]
    after = await _get(client, token, t.ticket_id)
    assert after == before and after["assignee"] == "zhaoliu"
    # A move its status does not allow is 409 too, with what is allowed.
    r = await client.post(f"{base}/reopen", json={"version": 2}, headers=auth(token))
    assert r.status_code == 409 and "reopen is not allowed" in r.json()["detail"]


async def test_bad_input_is_422(client: httpx.AsyncClient, world: Database) -> None:
    t = await open_ticket(world, "jinjiang", "救助款还没收到")
    token = await bearer(client, "zhangsan")
    base = f"/api/v1/tickets/{t.ticket_id}"
    for action, body in [
        ("notes", {"text": ""}),
        ("notes", {"text": "   "}),
        ("messages", {"text": " \n "}),
        ("resolve", {"resolution": " "}),
        ("assign", {"user": "wangwu"}),  # another district's staff
        ("assign", {"user": "lisi"}),  # a viewer
        ("assign", {"user": "nobody"}),
    ]:
        r = await client.post(f"{base}/{action}", json=body, headers=auth(token))
        assert r.status_code == 422, (action, body, r.text)
    assert (await client.get("/api/v1/tickets?status=bogus", headers=auth(token))).status_code == 422
    assert (await _get(client, token, t.ticket_id))["version"] == 1


async def test_the_conversation_survey_and_phone(client: httpx.AsyncClient, world: Database) -> None:
    await publish_flow(world)
    t = await open_ticket(world, "jinjiang", XSS, with_survey=True)
    staff = await _get(client, await bearer(client, "zhangsan"), t.ticket_id)
    assert staff["text"] == XSS  # JSON carries the words as they are; pages escape them
    assert staff["respondent"]["phone"] == "*******5678" and staff["respondent"]["channels"] == ["console:local"]
    assert staff["survey"]["flow"] == "humanitarian_aid" and staff["survey"]["title_zh"]
    assert [(a["question_id"], a["raw_text"], a["raised_ticket"]) for a in staff["answers"]] == [
        ("overall", "不满意", False),
        ("opinion", XSS, True),
    ]
    assert staff["answers"][0]["prompt_zh"].startswith("您对红十字会的救助项目")
    assert [m["text"] for m in staff["conversation"]] == [XSS]
    admin = await _get(client, await bearer(client, "admin"), t.ticket_id)
    assert admin["respondent"]["phone"] == "13812345678"


async def test_filters_search_and_pages(client: httpx.AsyncClient, world: Database) -> None:
    a = await open_ticket(world, "jinjiang", "救助款 还没收到", minutes_ago=60 * 50)
    b = await open_ticket(world, "chunxi", "培训证书 没有寄到", kind="help", category="first_aid_training")
    c = await open_ticket(world, "wuhou", "救助款 太少")
    token = await bearer(client, "zhangsan")
    await client.post(f"/api/v1/tickets/{b.ticket_id}/assign", json={"user": "zhangsan"}, headers=auth(token))

    async def ids(query: str, who: str = token) -> list[int]:
        r = await client.get(f"/api/v1/tickets?{query}", headers=auth(who))
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    assert sorted(await ids("")) == sorted([a.ticket_id, b.ticket_id])  # 武侯's is not in 锦江's scope
    assert await ids("q=救助款") == [a.ticket_id]
    assert await ids("q=救助款 收到") == [a.ticket_id] and await ids("q=救助款 证书") == []
    assert await ids("status=assigned") == [b.ticket_id]
    assert sorted(await ids("status=new,assigned")) == sorted([a.ticket_id, b.ticket_id])
    assert await ids("assignee=me") == [b.ticket_id] and await ids("assignee=none") == [a.ticket_id]
    assert await ids("assignee=zhaoliu") == [] and await ids("assignee=nosuchuser") == []
    assert await ids("category=first_aid_training") == [b.ticket_id]
    assert await ids("older_than_hours=48") == [a.ticket_id]
    assert await ids("overdue=true") == [a.ticket_id]  # 50 hours old: past its deadlines
    admin = await bearer(client, "admin")
    assert sorted(await ids("q=救助款", admin)) == sorted([a.ticket_id, c.ticket_id])
    page = (await client.get("/api/v1/tickets?limit=1&offset=1", headers=auth(admin))).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["offset"] == 1
    detail = await _get(client, token, a.ticket_id)
    # 春熙路 has no queue of its own: its tickets wait in 锦江's.
    assert sorted(await ids(f"queue={detail['queue_id']}")) == sorted([a.ticket_id, b.ticket_id])
    wuhou_queue = (await _get(client, admin, c.ticket_id))["queue_id"]
    assert await ids(f"queue={wuhou_queue}", admin) == [c.ticket_id] and await ids(f"queue={wuhou_queue}") == []
    assert detail["overdue"] == ["first_response", "resolution"]  # opened 50 h ago, nobody took it


async def test_queues_with_counts_sla_state_and_figures(
    app: FastAPI, client: httpx.AsyncClient, world: Database
) -> None:
    a = await open_ticket(world, "jinjiang", "救助款还没收到", minutes_ago=60 * 50)
    await open_ticket(world, "jinjiang", "电话打不通")
    await open_ticket(world, "wuhou", "救助款太少")
    token = await bearer(client, "zhangsan")
    base = f"/api/v1/tickets/{a.ticket_id}"
    await client.post(f"{base}/assign", json={"user": "zhangsan"}, headers=auth(token))
    await client.post(f"{base}/resolve", json={"resolution": "已补发"}, headers=auth(token))
    r = await client.get("/api/v1/queues", headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    [queue] = body["queues"]  # 武侯's queue is not 锦江's
    assert (queue["organisation"], queue["code"]) == ("jinjiang", "default")
    assert (queue["open"], queue["unassigned"], queue["by_status"]) == (1, 1, {"new": 1, "resolved": 1})
    assert queue["overdue"] == 0  # the new one is within its 4 hours; the old one is resolved
    figures = queue["figures"]
    assert (figures["tickets"], figures["open"], figures["sla_breaches"]) == (2, 1, 0)
    assert figures["median_first_response_minutes"] is not None and figures["reopen_rate"] == 0
    assert [(o["code"], o["tickets"]) for o in body["organisations"]] == [("jinjiang", 2)]
    admin = (await client.get("/api/v1/queues", headers=auth(await bearer(client, "admin")))).json()
    assert sorted(q["organisation"] for q in admin["queues"]) == ["jinjiang", "wuhou"]
    openapi = app.openapi()  # served at /openapi.json only where the settings turn the docs on
    assert {"/api/v1/tickets", "/api/v1/tickets/{ticket_id}", "/api/v1/queues"} <= set(openapi["paths"])
    assert {"TicketRead", "TicketDetail", "QueueRead"} <= set(openapi["components"]["schemas"])
