"""/api/v1/audit: admins only, each seeing their own organisations' entries."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest_asyncio

from bot.services.staff import create_user
from storage.db import Database
from storage.repositories.audit import AuditRepository
from tests.admin.conftest import PASSWORD, T0
from tests.admin.test_auth_api import auth, bearer


async def add_admin(db: Database, username: str, org: str) -> None:
    async with db.transaction() as s:
        await create_user(s, username=username, org_code=org, role="admin", password=PASSWORD, now=T0)


@pytest_asyncio.fixture
async def logged(staffed: Database) -> Database:
    """Beside the conftest accounts (created by "cli"): district admins of 锦江 and 武侯,
    an admin action in each district, a respondent's own event and a system job's."""
    await add_admin(staffed, "jjadmin", "jinjiang")
    await add_admin(staffed, "whadmin", "wuhou")
    async with staffed.transaction() as s:
        audit = AuditRepository(s)
        at = T0 + timedelta(hours=1)
        await audit.record(actor="staff:jjadmin", action="queue_created", subject_type="ticket_queue",
                           subject_id=1, data={"organisation": "jinjiang", "name": "锦江队列"}, at=at)  # fmt: skip
        await audit.record(actor="staff:whadmin", action="queue_created", subject_type="ticket_queue",
                           subject_id=2, data={"organisation": "wuhou", "name": "武侯队列"}, at=at)  # fmt: skip
        # No organisation in the data: it belongs to the acting account's (chunxi, under 锦江).
        await audit.record(actor="staff:lisi", action="exported", subject_type="report", data={}, at=at)
        await audit.record(actor="respondent:12", action="opted_out", subject_type="respondent",
                           subject_id=12, data={"text": "<script>alert(1)</script>"}, at=at)  # fmt: skip
        await audit.record(actor="system", action="purged", subject_type="answers", data={}, at=at)
    return staffed


async def entries(client: httpx.AsyncClient, username: str, query: str = "") -> list[dict]:
    r = await client.get(f"/api/v1/audit{query}", headers=auth(await bearer(client, username)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] >= len(body["items"])
    return body["items"]


def pairs(items: list[dict]) -> set[tuple[str, str]]:
    return {(e["actor"], e["action"]) for e in items}


async def test_the_city_admin_sees_every_entry_newest_first(logged: Database, client: httpx.AsyncClient) -> None:
    items = await entries(client, "admin", "?limit=500")
    assert {("staff:jjadmin", "queue_created"), ("staff:whadmin", "queue_created"), ("staff:lisi", "exported"),
            ("respondent:12", "opted_out"), ("system", "purged"), ("cli", "staff_created")} <= pairs(items)  # fmt: skip
    times = [e["at"] for e in items]
    assert times == sorted(times, reverse=True)
    [queue] = [e for e in items if e["actor"] == "staff:whadmin" and e["action"] == "queue_created"]
    assert queue["organisation"] == "wuhou" and queue["data"]["name"] == "武侯队列"


async def test_a_district_admin_never_sees_another_districts_entries(
    logged: Database, client: httpx.AsyncClient
) -> None:
    jj = await entries(client, "jjadmin", "?limit=500")
    assert {e["organisation"] for e in jj} == {"jinjiang", "chunxi"}
    assert ("staff:jjadmin", "queue_created") in pairs(jj)
    assert ("staff:lisi", "exported") in pairs(jj)  # chunxi lies under 锦江
    usernames = {e["data"].get("username") for e in jj if e["action"] == "login_succeeded"}
    assert "whadmin" not in usernames and "admin" not in usernames
    assert not {a for a, _ in pairs(jj)} & {"staff:whadmin", "staff:admin", "respondent:12", "system"}

    wh = await entries(client, "whadmin", "?limit=500")
    assert {e["organisation"] for e in wh} == {"wuhou"}
    assert ("staff:jjadmin", "queue_created") not in pairs(wh) and ("staff:lisi", "exported") not in pairs(wh)
    # Even asked for by name, another district's actor gives nothing.
    assert await entries(client, "whadmin", "?actor=staff:jjadmin") == []


async def test_staff_and_viewers_are_refused(logged: Database, client: httpx.AsyncClient) -> None:
    for username in ("zhangsan", "lisi"):
        r = await client.get("/api/v1/audit", headers=auth(await bearer(client, username)))
        assert r.status_code == 403, username
    assert (await client.get("/api/v1/audit")).status_code == 401


async def test_filters_and_paging(logged: Database, client: httpx.AsyncClient) -> None:
    created = await entries(client, "admin", "?action=queue_created")
    assert pairs(created) == {("staff:jjadmin", "queue_created"), ("staff:whadmin", "queue_created")}
    assert pairs(await entries(client, "admin", "?actor=staff:lisi")) == {("staff:lisi", "exported")}
    # T0 is 17:00 in Shanghai; the later entries are at 18:00 there. Naive times are Shanghai's.
    early = await entries(client, "admin", "?until=2026-06-01T17:30:00&limit=500")
    assert early and all(e["at"] < "2026-06-01T09:30" for e in early)
    later = await entries(client, "admin", "?since=2026-06-01T17:30:00&action=queue_created")
    assert len(later) == 2
    assert pairs(await entries(client, "admin", "?since=2026-06-01T10:00:00Z&until=2026-06-01T10:00:01Z")) == {
        ("staff:jjadmin", "queue_created"), ("staff:whadmin", "queue_created"), ("staff:lisi", "exported"),
        ("respondent:12", "opted_out"), ("system", "purged"),
    }  # fmt: skip
    token = await bearer(client, "admin")
    first = (await client.get("/api/v1/audit?limit=2", headers=auth(token))).json()
    second = (await client.get("/api/v1/audit?limit=2&offset=2", headers=auth(token))).json()
    assert first["total"] == second["total"] > 4 and len(first["items"]) == len(second["items"]) == 2
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    assert (await client.get("/api/v1/audit?limit=0", headers=auth(token))).status_code == 422
