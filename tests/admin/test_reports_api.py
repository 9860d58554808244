"""/api/v1/reports on the fixed report data set (tests/services/reports/conftest.py): every
role reads, each over its own organisations only; another district's organisation is 404
like one that does not exist; bad dates 422; no login 401."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI

from bot.app import create_app
from bot.services.staff import create_user
from storage.db import Database
from tests.admin.conftest import PASSWORD, T0, settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.services.reports.conftest import ReportWorld, build_world


@pytest_asyncio.fixture
async def world(db: Database) -> ReportWorld:
    built = await build_world(db)
    async with db.transaction() as s:
        for username, org, role in [("city", "chengdu", "admin"), ("wh", "wuhou", "staff"), ("cx", "chunxi", "viewer")]:
            await create_user(s, username=username, org_code=org, role=role, name=username, password=PASSWORD, now=T0)
    return built


@pytest_asyncio.fixture
async def client(db_url: str, world: ReportWorld) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings_for(db_url, in_process_worker=False))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def aid(data: dict) -> dict:  # type: ignore[type-arg]
    return next(f for f in data["flows"] if f["code"] == "aid")


async def test_each_role_reads_its_own_organisations(client: httpx.AsyncClient) -> None:
    city = (await client.get("/api/v1/reports", headers=auth(await bearer(client, "city")))).json()
    assert aid(city)["started"] == 5 and city["totals"]["tickets"]["opened"] == 3
    wuhou = await client.get("/api/v1/reports", headers=auth(await bearer(client, "wh")))
    assert wuhou.status_code == 200
    assert (aid(wuhou.json())["started"], aid(wuhou.json())["invited"]) == (2, 2)  # S3 S4; p3 p11
    station = (await client.get("/api/v1/reports", headers=auth(await bearer(client, "cx")))).json()
    assert [f["code"] for f in station["flows"]] == ["aid"] and aid(station)["started"] == 1  # S2 only


async def test_the_same_json_as_the_service_with_filters(client: httpx.AsyncClient) -> None:
    token = await bearer(client, "city")
    r = await client.get(
        "/api/v1/reports",
        params={"flow_id": "aid", "org": "jinjiang", "since": "2026-06-01", "until": "2026-06-30",
                "by": "channel", "question": "overall"},
        headers=auth(token),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["filters"]["org"] == "jinjiang" and data["filters"]["until"] == "2026-06-30"
    assert (aid(data)["started"], aid(data)["completed"]) == (2, 2)  # S1 S2; S8 is July's
    assert {row["key"]: row["answered"] for row in data["crosstab"]["rows"]} == {"wechat": 2}


async def test_another_districts_organisation_is_not_found(client: httpx.AsyncClient) -> None:
    token = await bearer(client, "wh")
    outside = await client.get("/api/v1/reports", params={"org": "jinjiang"}, headers=auth(token))
    missing = await client.get("/api/v1/reports", params={"org": "nowhere"}, headers=auth(token))
    assert (outside.status_code, missing.status_code) == (404, 404)
    assert outside.json()["detail"].replace("jinjiang", "X") == missing.json()["detail"].replace("nowhere", "X")
    own = await client.get("/api/v1/reports", params={"org": "wuhou"}, headers=auth(token))
    assert own.status_code == 200


async def test_bad_input_and_no_login(client: httpx.AsyncClient) -> None:
    token = await bearer(client, "city")
    bad = await client.get("/api/v1/reports", params={"since": "6/1/2026"}, headers=auth(token))
    assert bad.status_code == 422 and "日期格式不对" in bad.json()["detail"]
    backwards = await client.get("/api/v1/reports", params={"since": "2026-07-01", "until": "2026-06-01"},
                                 headers=auth(token))  # fmt: skip
    assert backwards.status_code == 422
    assert (await client.get("/api/v1/reports")).status_code == 401
