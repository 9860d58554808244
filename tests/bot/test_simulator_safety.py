"""The simulator and the API docs as something anyone on the network could reach: off in
production unless enabled, conversations bound to the browser that started them, a rate
limit per address, and text the database cannot hold refused without a trace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.app import create_app
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from bot.settings import Settings
from bot.web.client_limits import RateLimit
from bot.web.simulator import COOKIE, simulator_router
from storage.db import Database
from storage.models import Answer, InboundMessage, Respondent

SQLITE = "sqlite+aiosqlite:///./never-opened.db"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/never_opened"
PAGES = ["/", "/simulator", "/simulator/api/categories", "/docs", "/redoc", "/openapi.json"]


@pytest.mark.parametrize(
    ("database_url", "simulator", "docs", "open_"),
    [
        (SQLITE, None, None, True),  # the embedded demo: on
        (POSTGRES, None, None, False),  # production: off unless enabled
        (POSTGRES, True, True, True),
        (SQLITE, False, False, False),
    ],
    ids=["sqlite-default", "postgresql-default", "postgresql-enabled", "sqlite-disabled"],
)
async def test_simulator_and_api_docs_are_off_in_production_unless_enabled(
    database_url: str, simulator: bool | None, docs: bool | None, open_: bool
) -> None:
    # No lifespan: these routes answer (or not) without a database, which is never opened.
    app = create_app(Settings(database_url=database_url, simulator_enabled=simulator, api_docs_enabled=docs))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for path in ["/simulator", "/docs", "/redoc", "/openapi.json"]:
            status = (await client.get(path)).status_code
            assert status == (200 if open_ else 404), (path, status)
        root = await client.get("/")
        assert root.status_code == (307 if open_ else 404)
        visitor = await client.post("/simulator/api/visitor")
        assert visitor.status_code == (200 if open_ else 404)


async def test_docs_and_simulator_are_switched_separately() -> None:
    app = create_app(Settings(database_url=POSTGRES, api_docs_enabled=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/simulator")).status_code == 404


@pytest_asyncio.fixture
async def app(db_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(Settings(database_url=db_url, auto_migrate=False, simulator_enabled=True))
    async with application.router.lifespan_context(application):
        yield application


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _count(db_url: str, model: type) -> int:
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            return await s.scalar(select(func.count()).select_from(model)) or 0
    finally:
        await db.dispose()


async def test_the_visitor_id_is_issued_and_bound_to_the_browser(app: FastAPI, db_url: str) -> None:
    async with _client(app) as alice, _client(app) as mallory:
        issued = await alice.post("/simulator/api/visitor")
        cookie = issued.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/simulator" in cookie
        visitor = issued.json()["visitor"]
        started = await alice.post(
            "/simulator/api/start", json={"visitor": visitor, "category": "人道救助", "message_id": "s"}
        )
        assert started.status_code == 200
        await alice.post("/simulator/api/message", json={"visitor": visitor, "text": "好的", "message_id": "a1"})
        before = (await _count(db_url, InboundMessage), await _count(db_url, Answer))

        # Another browser that knows (or guessed) Alice's id, with a cookie of its own …
        await mallory.post("/simulator/api/visitor")
        hijack = await mallory.post(
            "/simulator/api/message", json={"visitor": visitor, "text": "4", "message_id": "m1"}
        )
        assert hijack.status_code == 403 and "不是您的对话" in hijack.json()["detail"]
        restart = await mallory.post(
            "/simulator/api/start", json={"visitor": visitor, "category": "志愿服务", "message_id": "m2"}
        )
        assert restart.status_code == 403
        # … or with none, or with a cookie it made up for her id.
        mallory.cookies.clear()
        for jar in ({}, {COOKIE: f"{visitor}.forged"}, {COOKIE: visitor}):
            mallory.cookies.clear()
            for name, value in jar.items():
                mallory.cookies.set(name, value, path="/simulator")
            r = await mallory.post("/simulator/api/message", json={"visitor": visitor, "text": "4", "message_id": "m3"})
            assert r.status_code == 403, jar
        assert (await _count(db_url, InboundMessage), await _count(db_url, Answer)) == before

        # Alice carries on where she was: "4" answers her first question, as 不好.
        mine = await alice.post("/simulator/api/message", json={"visitor": visitor, "text": "4", "message_id": "a2"})
        assert mine.status_code == 200 and "哪里可以做得更好" in mine.json()["messages"][-1]["text"]


async def test_simulator_respondents_are_test_respondents(app: FastAPI, db_url: str) -> None:
    async with _client(app) as client:
        visitor = (await client.post("/simulator/api/visitor")).json()["visitor"]
        await client.post("/simulator/api/start", json={"visitor": visitor, "category": "志愿服务", "message_id": "s"})
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            people = list((await s.execute(select(Respondent))).scalars())
    finally:
        await db.dispose()
    assert len(people) == 1 and people[0].is_test is True


def _raw(body: dict) -> dict:
    # json.dumps escapes a lone surrogate as \ud800, as a hostile client would send it.
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


@pytest.mark.parametrize(
    "text",
    ["好\x00的", "好\ud800", "\x1b[2J", "长" * 2001],
    ids=["nul", "lone-surrogate", "escape-sequence", "too-long"],
)
async def test_text_the_database_cannot_hold_is_refused_and_changes_nothing(app: FastAPI, db_url: str, text: str) -> None:
    async with _client(app) as client:
        visitor = (await client.post("/simulator/api/visitor")).json()["visitor"]
        await client.post("/simulator/api/start", json={"visitor": visitor, "category": "人道救助", "message_id": "s"})
        before = (await _count(db_url, InboundMessage), await _count(db_url, Answer))
        refused = await client.post(
            "/simulator/api/message", **_raw({"visitor": visitor, "text": text, "message_id": "bad"})
        )
        assert refused.status_code == 422, refused.text
        assert all("input" not in e for e in refused.json()["detail"])  # what was refused is not echoed
        bad_category = await client.post(
            "/simulator/api/start", **_raw({"visitor": visitor, "category": text if len(text) <= 64 else "类" * 65, "message_id": "bad2"})
        )
        assert bad_category.status_code == 422, bad_category.text
        assert (await _count(db_url, InboundMessage), await _count(db_url, Answer)) == before
        # The longest text allowed is taken (the engine then says it is too long for the question).
        ok = await client.post("/simulator/api/message", json={"visitor": visitor, "text": "好" * 2000, "message_id": "ok"})
        assert ok.status_code == 200


async def test_each_client_address_is_rate_limited(sqlite_url: str) -> None:
    now = [1000.0]
    limiter = RateLimit(3, 10, clock=lambda: now[0])
    app = FastAPI()
    db = Database(sqlite_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        app.state.runtime = Runtime(db)
        app.include_router(simulator_router(Settings(database_url=sqlite_url), limiter=limiter))
        one = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("192.0.2.1", 5000)), base_url="http://t")
        two = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("192.0.2.2", 5000)), base_url="http://t")
        async with one, two:
            for _ in range(3):
                assert (await one.get("/simulator/api/categories")).status_code == 200
            refused = await one.post("/simulator/api/visitor")
            assert refused.status_code == 429
            assert "请求太频繁" in refused.json()["detail"] and "Too many requests" in refused.json()["detail"]
            assert refused.headers["retry-after"] == "10"
            assert (await two.get("/simulator/api/categories")).status_code == 200  # per address
            now[0] += 9.9
            assert (await one.get("/simulator/api/categories")).status_code == 429
            assert (await one.get("/simulator")).status_code == 200  # the page itself is not counted
            now[0] += 0.2
            assert (await one.get("/simulator/api/categories")).status_code == 200
    finally:
        await db.dispose()


def test_the_rate_limit_remembers_a_bounded_number_of_addresses() -> None:
    now = [0.0]
    limiter = RateLimit(1, 10, clock=lambda: now[0], max_clients=3)
    for client in ("a", "b", "c"):
        assert limiter.check(client) is None
    assert limiter.check("a") == 10  # still limited while remembered
    assert limiter.check("d") is None  # a fourth address pushes the oldest out
    assert len(limiter._hits) == 3
    now[0] = 20
    assert limiter.check("e") is None and len(limiter._hits) == 1  # the idle ones are forgotten
