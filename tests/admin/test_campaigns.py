"""/api/v1/campaigns and /console/campaigns: admins create and move campaigns in their
organisations, staff and viewers read, another district's campaign does not exist for
them; bad input changes nothing; forms need the CSRF token; moves are audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.services.flows import publish_files
from bot.services.staff import create_user
from storage.db import Database
from storage.models import AuditEntry, Campaign, Organisation
from storage.repositories.respondents import RespondentRepository
from tests.admin.conftest import PASSWORD, T0, settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.admin.test_console_pages import csrf_in, log_in
from tests.services.campaigns.conftest import FLOW

BODY = {"name": "2026 夏季回访", "flow": "campaign_check", "cooldown_days": 0}


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def world(staffed: Database) -> Database:
    await publish_files(staffed, [FLOW], now=T0)
    async with staffed.transaction() as s:
        await create_user(s, username="jjadmin", org_code="jinjiang", role="admin", name="锦江管理", password=PASSWORD,
                          now=T0)  # fmt: skip
        await create_user(s, username="whadmin", org_code="wuhou", role="admin", name="武侯管理", password=PASSWORD,
                          now=T0)  # fmt: skip
        for org in ("jinjiang", "chunxi", "wuhou"):
            org_id = await s.scalar(select(Organisation.id).where(Organisation.code == org))
            people = RespondentRepository(s)
            p = await people.create(category="campaign_check", organisation_id=org_id, at=T0)
            await people.add_identity(p, channel="wechat", account="main", external_id=f"o-{org}", at=T0)
    return staffed


async def create(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    return await client.post("/api/v1/campaigns", json={**BODY, **fields}, headers=auth(token))


async def test_roles_and_organisations_on_every_route(client: httpx.AsyncClient, world: Database) -> None:
    admin, jjadmin, whadmin = [await bearer(client, u) for u in ("admin", "jjadmin", "whadmin")]
    staff, viewer = await bearer(client, "zhangsan"), await bearer(client, "lisi")
    assert (await create(client, staff)).status_code == 403
    assert (await create(client, viewer)).status_code == 403
    made = await create(client, jjadmin)
    assert made.status_code == 201, made.text
    jj = made.json()["id"]
    assert made.json()["organisation"] == "jinjiang" and made.json()["actions"] == ["start", "finish"]
    wh = (await create(client, admin, organisation="wuhou")).json()["id"]

    cx = (await create(client, jjadmin, organisation="chunxi")).json()["id"]

    # Reading: every role in scope; a campaign outside it is 404 on every route.
    for token, seen in ((staff, [cx, jj]), (jjadmin, [cx, jj]), (viewer, [cx]), (admin, [cx, wh, jj])):
        listed = (await client.get("/api/v1/campaigns", headers=auth(token))).json()["items"]
        assert sorted(c["id"] for c in listed) == sorted(seen)
        for campaign in (jj, wh, cx):
            expected = 200 if campaign in seen else 404
            assert (await client.get(f"/api/v1/campaigns/{campaign}", headers=auth(token))).status_code == expected
            r = await client.get(f"/api/v1/campaigns/{campaign}/progress", headers=auth(token))
            assert r.status_code == expected
    assert (await client.post(f"/api/v1/campaigns/{wh}/start", headers=auth(jjadmin))).status_code == 404
    assert (await client.post(f"/api/v1/campaigns/{jj}/start", headers=auth(whadmin))).status_code == 404
    # Moving: admins only.
    for token in (staff, viewer):
        for move in ("start", "pause", "resume", "finish"):
            assert (await client.post(f"/api/v1/campaigns/{jj}/{move}", headers=auth(token))).status_code == 403
    started = await client.post(f"/api/v1/campaigns/{jj}/start", headers=auth(jjadmin))
    assert started.status_code == 200 and started.json()["status"] == "running"
    for who, expected in (("zhangsan", 1), ("whadmin", 0)):  # the home page counts it in 锦江 only
        await log_in(client, who)
        home = (await client.get("/console")).text
        assert f'<a href="/console/campaigns"><span class="n">{expected}</span>' in home
    assert started.json()["selected"] == 2  # 锦江 and 春熙路, not 武侯
    assert (await client.post(f"/api/v1/campaigns/{jj}/resume", headers=auth(jjadmin))).status_code == 409
    assert (await client.post(f"/api/v1/campaigns/{jj}/pause", headers=auth(admin))).json()["status"] == "paused"
    progress = (await client.get(f"/api/v1/campaigns/{jj}/progress", headers=auth(staff))).json()
    assert (progress["total"], progress["queued"], progress["invited"]) == (2, 2, 0)
    async with world.transaction() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "campaign")))
    assert sorted(actions) == sorted(["campaign_created"] * 3 + ["campaign_started", "campaign_paused"])


async def test_bad_input_is_refused_in_both_languages_and_stores_nothing(
    client: httpx.AsyncClient, world: Database
) -> None:
    admin = await bearer(client, "admin")
    for fields, words in (
        ({"flow": "nope"}, "没有这个流程 no such flow"),
        ({"send_until": "25:00"}, "HH:MM"),
        ({"per_minute": 0}, "每分钟发送数"),
        ({"organisations": ["nowhere"]}, "not an organisation under"),
    ):
        r = await create(client, admin, **fields)
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert (
        await client.post("/api/v1/campaigns", json={**BODY, "surprise": 1}, headers=auth(admin))
    ).status_code == 422
    async with world.transaction() as s:
        assert list(await s.scalars(select(Campaign))) == []


async def test_console_pages_create_start_and_refuse(client: httpx.AsyncClient, world: Database) -> None:
    await log_in(client, "jjadmin")
    page = await client.get("/console/campaigns")
    assert page.status_code == 200 and "新建活动" in page.text and 'href="/console/campaigns"' in page.text
    form = {"csrf_token": csrf_in(page.text), "name": "锦江回访", "flow": "campaign_check", "tags": "",
            "send_from": "08:00", "send_until": "21:00", "per_minute": "30", "cooldown_days": "0"}  # fmt: skip
    bad = await client.post("/console/campaigns", data={**form, "send_from": "9点"})
    assert bad.status_code == 422 and "HH:MM" in bad.text and "锦江回访" in bad.text
    missing = await client.post("/console/campaigns", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert missing.status_code == 403
    made = await client.post("/console/campaigns", data=form)
    assert made.status_code == 303
    detail = await client.get(made.headers["location"])
    assert detail.status_code == 200 and "锦江回访" in detail.text and "campaign.js" in detail.text
    assert "<script>" not in detail.text  # CSP: the page's script is a file
    started = await client.post(made.headers["location"] + "/start", data={"csrf_token": csrf_in(detail.text)})
    assert started.status_code == 303
    again = await client.get(made.headers["location"])
    assert "进行中" in again.text and 'data-count="total">2<' in again.text
    twice = await client.post(made.headers["location"] + "/start", data={"csrf_token": csrf_in(detail.text)})
    assert twice.status_code == 409 and "不能开始" in twice.text

    client.cookies.clear()
    await log_in(client, "zhangsan")  # staff of 锦江: reads, cannot create or move
    listed = await client.get("/console/campaigns")
    assert "锦江回访" in listed.text and "新建活动" not in listed.text
    shown = await client.get(made.headers["location"])
    assert shown.status_code == 200 and "/pause" not in shown.text
    refused = await client.post(made.headers["location"] + "/pause", data={"csrf_token": csrf_in(shown.text)})
    assert refused.status_code == 403

    client.cookies.clear()
    await log_in(client, "whadmin")
    assert (await client.get(made.headers["location"])).status_code == 404
    assert "锦江回访" not in (await client.get("/console/campaigns")).text
