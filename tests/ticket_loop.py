"""The closed loop as staff and respondents live it, over HTTP end to end: a complaint typed in
the chat becomes a ticket; a staff member logs in to the JSON API, takes it and resolves it;
the scheduler asks the respondent in their channel; "还没有" reopens it; resolved again,
"解决了" confirms it. Shared by the WeChat and the Telegram versions of the test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from bot.dispatch.scheduler import run_due_jobs_once
from bot.services.catalog import FlowCache
from bot.services.jobs import HANDLERS, JobConfig
from bot.services.organisations import add_organisation
from bot.services.staff import create_user
from bot.services.ticket_followup import ASK, REMIND, TIMEOUT
from bot.settings import Settings
from storage.db import Database
from storage.models import Ticket

LOOP = {kind: HANDLERS[kind] for kind in (ASK, REMIND, TIMEOUT)}
PASSWORD = "a-long-enough-password-1"


async def city_and_staff(db: Database) -> None:
    async with db.transaction() as s:
        now = datetime.now(UTC)
        await add_organisation(s, code="chengdu", name="成都市红十字会", now=now)
        await create_user(s, username="wang", org_code="chengdu", role="staff", name="王芳", password=PASSWORD, now=now)


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    login = await client.post("/api/v1/login", json={"username": "wang", "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def the_ticket(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    listed = await client.get("/api/v1/tickets", headers=auth)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    detail = await client.get(f"/api/v1/tickets/{item['id']}", headers=auth)
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


async def take_and_resolve(client: httpx.AsyncClient, auth: dict[str, str], resolution: str) -> None:
    ticket = await the_ticket(client, auth)
    tid, version = ticket["id"], ticket["version"]
    assigned = await client.post(f"/api/v1/tickets/{tid}/assign", json={"user": "wang", "version": version}, headers=auth)
    assert assigned.status_code == 200, assigned.text
    stale = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "x", "version": version}, headers=auth)
    assert stale.status_code == 409  # the form's version is old: refused, nothing changed
    resolved = await client.post(
        f"/api/v1/tickets/{tid}/resolve", json={"resolution": resolution, "version": assigned.json()["version"]},
        headers=auth,
    )  # fmt: skip
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text


async def ask_respondents(db: Database, settings: Settings) -> None:
    """The scheduler's pass over the closed loop's jobs (a worker does this every few seconds)."""
    config = JobConfig(engine=settings.engine, flows=FlowCache(), expire_sweep_every=timedelta(minutes=10),
                       tickets=settings.tickets)  # fmt: skip
    await run_due_jobs_once(
        db, LOOP, now=datetime.now(UTC) + timedelta(seconds=1), batch=10, stale_after=timedelta(minutes=5),
        max_attempts=3, config=config,
    )  # fmt: skip


async def run_the_loop(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    *,
    say: Callable[[str], Awaitable[str]],
    asked: Callable[[], Awaitable[list[str]]],
) -> None:
    """`say` sends the respondent's words and returns what the bot answered; `asked` gives
    the follow-up messages that reached them so far."""
    auth = await bearer(client)
    await take_and_resolve(client, auth, "已联系民政部门补发")
    await ask_respondents(db, settings)
    [question] = await asked()
    assert "工作人员已处理：已联系民政部门补发" in question and "解决了" in question and "还没有" in question

    assert "工作人员会尽快再和您联系" in await say("还没有")
    ticket = await the_ticket(client, auth)
    assert ticket["status"] == "reopened"
    assert any(e["kind"] == "reply" for e in ticket["history"])  # what they said, for staff

    await take_and_resolve(client, auth, "已当面送达")
    await ask_respondents(db, settings)
    assert "工作人员已处理：已当面送达" in (await asked())[-1]
    await say("解决了")
    await say("满意")
    await say("跳过")
    ticket = await the_ticket(client, auth)
    assert ticket["status"] == "confirmed"
    async with db.transaction() as s:
        row = await s.scalar(select(Ticket).where(Ticket.id == ticket["id"]))
        assert row is not None and row.satisfaction == "satisfied"
