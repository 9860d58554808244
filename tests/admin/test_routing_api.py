"""An organisation's admin sets its ticket queues and its own detection phrases through the
API: inside its scope only, refused with reasons (file:line for rules), audited."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.services.text_kinds import rules_for
from bot.services.ticket_queues import list_queues
from storage.db import Database
from storage.models import AuditEntry, Organisation
from storage.repositories.organisations import Scope
from tests.admin.test_auth_api import auth, bearer

QUEUE = {"code": "complaints", "name": "投诉处理", "first_response_minutes": 120, "resolution_minutes": 1440,
         "kinds": ["complaint"], "priority": 1}  # fmt: skip


async def test_an_admin_adds_queues_in_its_scope_only(client: httpx.AsyncClient, staffed: Database) -> None:
    admin = await bearer(client, "admin")  # of the city: its districts are in scope
    made = await client.post("/api/v1/queues", json={**QUEUE, "organisation": "jinjiang"}, headers=auth(admin))
    assert made.status_code == 201, made.text
    assert made.json()["organisation"] == "jinjiang"
    again = await client.post("/api/v1/queues", json={**QUEUE, "organisation": "jinjiang"}, headers=auth(admin))
    assert again.status_code == 422  # the same code twice in one organisation
    unknown = await client.post("/api/v1/queues", json={**QUEUE, "organisation": "nowhere"}, headers=auth(admin))
    assert unknown.status_code == 404
    staff = await bearer(client, "zhangsan")
    assert (await client.post("/api/v1/queues", json=QUEUE, headers=auth(staff))).status_code == 403
    async with staffed.transaction() as s:
        queues = await list_queues(s, scope=Scope.everything())
        assert [(q.organisation_code, q.code, q.kinds) for q in queues] == [("jinjiang", "complaints", ["complaint"])]
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "queue_created"))
        assert audit is not None and audit.actor == "staff:admin"


async def test_an_admin_sets_its_organisations_phrases(client: httpx.AsyncClient, staffed: Database) -> None:
    admin = await bearer(client, "admin")
    broken = await client.put("/api/v1/detection-rules", json={"source": "complaint:\n  - 一锅粥\nhelp: 3\n"},
                              headers=auth(admin))  # fmt: skip
    assert broken.status_code == 422
    [error] = broken.json()["detail"]
    assert error["line"] == 3 and error["path"] == "help"
    saved = await client.put("/api/v1/detection-rules", json={"source": "complaint:\n  - 一锅粥\n"}, headers=auth(admin))
    assert saved.status_code == 200 and saved.json()["phrases"]["complaint"] == 1
    staff = await bearer(client, "zhangsan")
    read = await client.get("/api/v1/detection-rules", headers=auth(staff))
    assert read.status_code == 200 and read.json() == {"organisation": "jinjiang", "source": None, "phrases": {}}
    assert (await client.put("/api/v1/detection-rules", json={"source": "none: [x]\n"}, headers=auth(staff))).status_code == 403
    async with staffed.transaction() as s:
        station = await s.scalar(select(Organisation).where(Organisation.code == "chunxi"))
        assert station is not None
        rules = await rules_for(s, station.id)  # the city's phrases reach a station under it
        assert rules is not None and "一锅粥" in rules.complaint
