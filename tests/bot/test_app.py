"""The web app as a browser uses it: health, the simulator page and its chat API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from bot.app import create_app
from bot.settings import Settings
from storage.db import Database
from storage.models import Answer


@pytest_asyncio.fixture
async def app(db_url: str) -> AsyncIterator[FastAPI]:
    # The simulator is off by default on PostgreSQL; these tests use it on both databases.
    application = create_app(Settings(database_url=db_url, auto_migrate=False, simulator_enabled=True))
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_health_and_the_simulator_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    root = await client.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/simulator"
    page = await client.get("/simulator")
    assert page.status_code == 200 and "回访模拟器" in page.text
    categories = (await client.get("/simulator/api/categories")).json()
    assert [c["zh"] for c in categories][:2] == ["公益捐赠", "人道救助"] and len(categories) == 9


async def test_a_survey_in_the_simulator_is_stored_like_any_channel(client: httpx.AsyncClient, db_url: str) -> None:
    visitor = (await client.post("/simulator/api/visitor")).json()["visitor"]
    n = 0

    async def say(text: str) -> dict:
        nonlocal n
        n += 1
        r = await client.post("/simulator/api/message", json={"visitor": visitor, "text": text, "message_id": f"m{n}"})
        assert r.status_code == 200
        return r.json()

    r = await client.post(
        "/simulator/api/start",
        json={"visitor": visitor, "category": "人道救助", "message_id": "m0"},
    )
    assert "愿意" in r.json()["messages"][0]["text"]
    first_question = await say("嗯嗯")
    buttons = first_question["messages"][-1]["choices"]
    assert [b["label"] for b in buttons] == ["非常好", "好", "一般", "不好"]
    # The page shows the options as buttons: the text keeps the question, not the list.
    question = first_question["messages"][-1]["text"]
    assert "总体评价" in question and not any(f"{i}. " in question for i in range(1, 5))
    await say("好")
    await say("3")
    await say("①、③")
    end = await say("跳过")
    assert "感谢" in end["messages"][-1]["text"]

    db = Database(db_url)
    try:
        async with db.transaction() as s:
            stored = {a.question_id: a for a in (await s.execute(select(Answer))).scalars()}
    finally:
        await db.dispose()
    assert stored["overall"].value == "good"
    assert stored["other_services"].value == ["counselling", "care_companionship"]
    assert stored["opinion"].skipped


async def test_bad_simulator_input_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    visitor = (await client.post("/simulator/api/visitor")).json()["visitor"]
    bad_visitor = await client.post("/simulator/api/message", json={"visitor": "../../etc", "text": "1", "message_id": "x"})
    assert bad_visitor.status_code == 422
    unknown = await client.post(
        "/simulator/api/start", json={"visitor": visitor, "category": "不存在的类别", "message_id": "x"}
    )
    assert unknown.status_code == 404 and "unknown category" in unknown.json()["detail"]
    too_long = await client.post(
        "/simulator/api/message", json={"visitor": visitor, "text": "长" * 5000, "message_id": "y"}
    )
    assert too_long.status_code == 422
