"""What a stranger or a careless link can send: bodies too large for their route are refused
before they are read (413); ids past what a column holds and dates before the calendar are
the request's fault (422 in the API, 400 on a page), never a server error; a respondent list
larger than the app's default limit still uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from bot.app import MAX_BODY_BYTES, create_app
from bot.web.errors import OUT_OF_RANGE
from storage.db import Database
from tests.admin.conftest import settings_for
from tests.admin.test_auth_api import auth, bearer
from tests.admin.test_console_pages import csrf_in, log_in

TOO_BIG = 2**63  # one past the largest id a BIGINT holds


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(db_url, in_process_worker=False, simulator_enabled=True))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_huge_body_is_refused_before_login(client: httpx.AsyncClient) -> None:
    chunk = b" " * (1024 * 1024)

    async def body() -> AsyncIterator[bytes]:  # streamed, as an attacker would: no length declared
        yield b'{"username": "admin", "password": "'
        for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
            yield chunk
        yield b'"}'

    r = await client.post("/api/v1/login", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    declared = await client.post(
        "/api/v1/login", content=b"{}", headers={"content-type": "application/json", "content-length": str(10**9)}
    )
    assert declared.status_code == 413
    # A normal login is unaffected.
    assert (await client.post("/api/v1/login", json={"username": "admin", "password": "x"})).status_code == 401


async def test_the_simulator_takes_only_a_messages_worth(client: httpx.AsyncClient) -> None:
    r = await client.post("/simulator/api/message", content=b"x" * (100 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_a_respondent_list_larger_than_the_default_limit_still_uploads(client: httpx.AsyncClient) -> None:
    assert (await log_in(client, "admin")).status_code == 303
    page = await client.get("/console/respondents/import")
    rows = "".join(f"陈阿姨{i},1380{i:07d},人道救助\n" for i in range(MAX_BODY_BYTES // 30 + 1000))
    data = f"姓名,手机,类别\n{rows}".encode()
    assert MAX_BODY_BYTES < len(data) < 20 * 1024 * 1024
    r = await client.post(
        "/console/respondents/import",
        data={"csrf_token": csrf_in(page.text)},
        files={"file": ("list.csv", data, "text/csv")},
    )
    assert r.status_code == 303, r.text[:300]  # staged for its preview, not refused


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/tickets/{TOO_BIG}",
        f"/api/v1/respondents/{TOO_BIG}",
        f"/api/v1/campaigns/{TOO_BIG}",
        f"/api/v1/reports?flow_id={TOO_BIG}",
        "/api/v1/reports?since=0001-01-01",
        "/api/v1/audit?since=0001-01-01T00:00:00",
        f"/api/v1/audit?offset={TOO_BIG}",
    ],
)
async def test_values_past_what_can_be_stored_are_the_requests_fault(client: httpx.AsyncClient, path: str) -> None:
    token = await bearer(client, "admin")
    r = await client.get(path, headers=auth(token))
    # Answered (a date in year 1 may simply find nothing) or refused: never a server error.
    assert r.status_code in (200, 404, 422), (path, r.status_code, r.text[:200])
    if r.status_code == 422:
        assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    [f"/console/tickets/{TOO_BIG}", f"/console/respondents/{TOO_BIG}", f"/console/campaigns/{TOO_BIG}", "/console/audit?since=0001-01-01"],
)
async def test_a_page_with_such_a_value_says_so(client: httpx.AsyncClient, path: str) -> None:
    assert (await log_in(client, "admin")).status_code == 303
    r = await client.get(path)
    assert r.status_code in (200, 400, 404, 422), (path, r.status_code)
    if r.status_code == 400:
        assert OUT_OF_RANGE in r.text
