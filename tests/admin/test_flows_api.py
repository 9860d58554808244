"""The flow editor's API: validate a draft (errors with lines), publish in one's scope only,
versions, a diff, rollback with sessions under way kept on their version, copying a shared
flow into an organisation, and the audit of every change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.services.catalog import FlowCache
from bot.services.flow_versions import FlowFileError, renamed_source
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from bot.services.staff import create_user
from flows.loader import DEFAULTS_DIR
from storage.db import Database
from storage.models import AuditEntry, FlowVersion, Organisation, SurveySession
from storage.repositories.flows import FlowRepository
from tests.admin.conftest import PASSWORD, T0
from tests.admin.test_auth_api import auth, bearer
from tests.bot.conftest import Chat

ROOT = Path(__file__).resolve().parents[2]
DRAFT = """\
id: jj_volunteer
version: 1
category: {code: volunteer, name: {zh: 志愿服务, en: Volunteering}, order: 4}
title: {zh: 锦江志愿服务回访, en: Jinjiang volunteer follow-up}
intro: {zh: 您好！这里是锦江区红十字会。, en: Hello from the Jinjiang Red Cross.}
consent:
  zh: 您愿意回答几个简短的问题吗？
  en: Would you answer a few short questions?
declined: {zh: 好的，不打扰您了。, en: That is fine.}
closing: {zh: 问卷完成了，非常感谢您！, en: Thank you!}
questions:
  - id: overall
    type: yes_no
    prompt: {zh: 您满意吗？, en: Were you satisfied}
  - id: opinion
    type: text
    optional: true
    prompt: {zh: 还有什么建议？, en: Anything else}
"""
BROKEN = DRAFT.replace("  - id: opinion\n", "  - id: overall\n")  # line 15: a duplicate id

VOLUNTEER_V1_PROMPT = "您对参加过的红十字志愿服务活动，总体评价怎么样？"
VOLUNTEER_V2_PROMPT = "第二版：您对志愿服务总体评价怎么样？"


async def district_admins(db: Database) -> None:
    async with db.transaction() as s:
        for org in ("jinjiang", "wuhou"):
            await create_user(s, username=f"{org}_admin", org_code=org, role="admin", name=org, password=PASSWORD, now=T0)


async def audit_actions(db: Database) -> list[tuple[str, str, str]]:
    async with db.transaction() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "flow").order_by(AuditEntry.id))
        return [(a.actor, a.action, a.subject_id) for a in rows]


async def test_validate_reports_errors_with_lines_and_stores_nothing(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    viewer = await bearer(client, "lisi")  # reading a draft's problems needs no more than a login
    good = await client.post("/api/v1/flows/validate", json={"text": DRAFT}, headers=auth(viewer))
    assert good.status_code == 200, good.text
    assert good.json() == {"ok": True, "errors": [], "flow": {"id": "jj_volunteer", "category": "volunteer", "questions": 2}}
    bad = await client.post("/api/v1/flows/validate", json={"text": BROKEN, "name": "mine.yaml"}, headers=auth(viewer))
    body = bad.json()
    assert bad.status_code == 200 and body["ok"] is False and body["flow"] is None
    assert any(e["line"] == 15 for e in body["errors"]), body
    # Errors come in the order of their lines, as an editor lists them, whatever order the
    # checks found them in (the duplicate id further down is found first).
    default = (ROOT / "flows" / "defaults" / "volunteer.yaml").read_text(encoding="utf-8")
    two = default.replace("goto: main_problem", "goto: nowhere", 1).replace("  - id: opinion", "  - id: overall", 1)
    found = (await client.post("/api/v1/flows/validate", json={"text": two}, headers=auth(viewer))).json()["errors"]
    assert len(found) >= 2 and [e["line"] for e in found] == sorted(e["line"] for e in found), found
    syntax = await client.post("/api/v1/flows/validate", json={"text": "id: [x\n"}, headers=auth(viewer))
    assert syntax.json()["errors"][0]["line"] is not None
    assert (await client.post("/api/v1/flows/validate", json={"text": DRAFT})).status_code == 401
    async with staffed.transaction() as s:
        assert await FlowRepository(s).latest("jj_volunteer") is None


async def test_publishing_needs_an_admin_in_scope_and_a_clean_draft(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    await district_admins(staffed)
    staff, viewer = await bearer(client, "zhangsan"), await bearer(client, "lisi")
    for token in (staff, viewer):
        assert (await client.post("/api/v1/flows", json={"text": DRAFT}, headers=auth(token))).status_code == 403
    jinjiang = await bearer(client, "jinjiang_admin")
    outside = await client.post("/api/v1/flows", json={"text": DRAFT, "organisation": "wuhou"}, headers=auth(jinjiang))
    assert outside.status_code == 404
    shared = await client.post("/api/v1/flows", json={"text": DRAFT, "shared": True}, headers=auth(jinjiang))
    assert shared.status_code == 403  # a shared flow is the city's to publish
    broken = await client.post("/api/v1/flows", json={"text": BROKEN}, headers=auth(jinjiang))
    assert broken.status_code == 422 and any(e["line"] == 15 for e in broken.json()["detail"])
    async with staffed.transaction() as s:
        assert await FlowRepository(s).latest("jj_volunteer") is None

    made = await client.post("/api/v1/flows", json={"text": DRAFT}, headers=auth(jinjiang))
    assert made.status_code == 201, made.text
    assert made.json() == {"id": "jj_volunteer", "version": 1, "created": True, "organisation": "jinjiang"}
    same = await client.post("/api/v1/flows", json={"text": DRAFT}, headers=auth(jinjiang))
    assert same.status_code == 200 and same.json()["created"] is False and same.json()["version"] == 1
    # The city admin may publish for a district, but the id is jinjiang's flow: not for chunxi.
    city = await bearer(client, "admin")
    elsewhere = await client.post("/api/v1/flows", json={"text": DRAFT, "organisation": "chunxi"}, headers=auth(city))
    assert elsewhere.status_code == 409
    assert await audit_actions(staffed) == [
        ("staff:jinjiang_admin", "flow_published", "jj_volunteer"),
        ("staff:jinjiang_admin", "flow_published", "jj_volunteer"),
    ]


async def test_versions_diff_and_visibility(client: httpx.AsyncClient, staffed: Database) -> None:
    await district_admins(staffed)
    jinjiang = await bearer(client, "jinjiang_admin")
    await client.post("/api/v1/flows", json={"text": DRAFT, "name": "jj.yaml"}, headers=auth(jinjiang))
    edited = DRAFT.replace("您满意吗？", "您对这次活动满意吗？")
    v2 = await client.post("/api/v1/flows", json={"text": edited}, headers=auth(jinjiang))
    assert v2.status_code == 201 and v2.json()["version"] == 2

    listed = await client.get("/api/v1/flows/jj_volunteer/versions", headers=auth(jinjiang))
    assert [(v["version"], v["source_name"]) for v in listed.json()] == [(1, "jj.yaml"), (2, "jj_volunteer.yaml")]
    assert listed.json()[0]["content_hash"] != listed.json()[1]["content_hash"]
    source = await client.get("/api/v1/flows/jj_volunteer/versions/1/source", headers=auth(jinjiang))
    assert source.status_code == 200 and source.text == DRAFT
    diff = await client.get("/api/v1/flows/jj_volunteer/diff", params={"from": 1, "to": 2}, headers=auth(jinjiang))
    assert diff.status_code == 200
    changed = [line for line in diff.text.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [
        "-    prompt: {zh: 您满意吗？, en: Were you satisfied}",
        "+    prompt: {zh: 您对这次活动满意吗？, en: Were you satisfied}",
    ]
    missing = await client.get("/api/v1/flows/jj_volunteer/diff", params={"from": 1, "to": 9}, headers=auth(jinjiang))
    assert missing.status_code == 404

    # Another district's own flow does not exist for wuhou; a station under jinjiang sees it.
    wuhou = await bearer(client, "wuhou_admin")
    for path in ("versions", "versions/1/source", "diff?from=1&to=2"):
        assert (await client.get(f"/api/v1/flows/jj_volunteer/{path}", headers=auth(wuhou))).status_code == 404
    rolled = await client.post("/api/v1/flows/jj_volunteer/rollback", json={"version": 1}, headers=auth(wuhou))
    assert rolled.status_code == 404
    assert "jj_volunteer" not in [f["id"] for f in (await client.get("/api/v1/flows", headers=auth(wuhou))).json()]
    station = await bearer(client, "lisi")
    seen = {f["id"]: f for f in (await client.get("/api/v1/flows", headers=auth(station))).json()}
    assert seen["jj_volunteer"]["organisation"] == "jinjiang" and seen["jj_volunteer"]["version"] == 2
    # …but it is jinjiang's to change, not a viewer's.
    assert (await client.post("/api/v1/flows/jj_volunteer/rollback", json={"version": 1},
                              headers=auth(station))).status_code == 403  # fmt: skip


async def session_versions(db: Database) -> list[tuple[int, str]]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(FlowVersion.version, SurveySession.status)
            .join(FlowVersion, SurveySession.flow_version_id == FlowVersion.id)
            .order_by(SurveySession.id)
        )
        return [(v, status) for v, status in rows]


async def test_rollback_makes_old_content_newest_and_sessions_keep_their_version(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    await prepare(staffed, migrate=False, publish_defaults=True)
    runtime = Runtime(staffed)
    chats = [Chat(runtime, name) for name in ("first", "second", "third")]
    for chat in chats:  # the app's own clock is real time: at T0 its workers would expire them
        chat.at = datetime.now(UTC)
    first, second, third = chats
    await first.start("volunteer")
    assert VOLUNTEER_V1_PROMPT in (await first.say("是")).text

    city = await bearer(client, "admin")  # of the root organisation: the shared flows are its own
    v1_text = (DEFAULTS_DIR / "volunteer.yaml").read_text(encoding="utf-8")
    v2_text = v1_text.replace(VOLUNTEER_V1_PROMPT, VOLUNTEER_V2_PROMPT)
    v2 = await client.post("/api/v1/flows", json={"text": v2_text, "shared": True}, headers=auth(city))
    assert v2.status_code == 201 and v2.json()["version"] == 2

    await second.start("volunteer")
    assert VOLUNTEER_V2_PROMPT in (await second.say("是")).text
    listed = {f["id"]: f for f in (await client.get("/api/v1/flows", headers=auth(city))).json()}
    assert listed["volunteer"]["open_sessions"] == 2 and listed["volunteer"]["version"] == 2

    rolled = await client.post("/api/v1/flows/volunteer/rollback", json={"version": 1}, headers=auth(city))
    assert rolled.status_code == 201, rolled.text
    assert rolled.json() == {"id": "volunteer", "version": 3, "created": True, "organisation": None}
    versions = (await client.get("/api/v1/flows/volunteer/versions", headers=auth(city))).json()
    assert versions[2]["content_hash"] == versions[0]["content_hash"] != versions[1]["content_hash"]

    await first.say("1")  # goes on with the flow it started, after two new versions
    await second.say("1")
    await third.start("volunteer")
    assert VOLUNTEER_V1_PROMPT in (await third.say("是")).text
    assert [v for v, _ in await session_versions(staffed)] == [1, 2, 3]
    assert all(status == "active" for _, status in await session_versions(staffed))

    # A district admin cannot roll the shared flow back: it serves everyone.
    await district_admins(staffed)
    jinjiang = await bearer(client, "jinjiang_admin")
    refused = await client.post("/api/v1/flows/volunteer/rollback", json={"version": 2}, headers=auth(jinjiang))
    assert refused.status_code == 403
    unknown = await client.post("/api/v1/flows/volunteer/rollback", json={"version": 7}, headers=auth(city))
    assert unknown.status_code == 404
    assert ("staff:admin", "flow_rolled_back", "volunteer") in await audit_actions(staffed)


async def test_a_copy_of_a_shared_flow_serves_its_organisation(client: httpx.AsyncClient, staffed: Database) -> None:
    await prepare(staffed, migrate=False, publish_defaults=True)
    await district_admins(staffed)
    jinjiang = await bearer(client, "jinjiang_admin")
    copied = await client.post("/api/v1/flows/volunteer/copy", json={"new_id": "jj_volunteer"}, headers=auth(jinjiang))
    assert copied.status_code == 201, copied.text
    assert copied.json() == {"id": "jj_volunteer", "version": 1, "created": True, "organisation": "jinjiang"}
    source = (await client.get("/api/v1/flows/jj_volunteer/versions/1/source", headers=auth(jinjiang))).text
    original = (DEFAULTS_DIR / "volunteer.yaml").read_text(encoding="utf-8")
    assert source == original.replace("\nid: volunteer\n", "\nid: jj_volunteer\n") != original

    # Changing the copy is jinjiang's business; the shared flow stays as it was.
    edited = source.replace(VOLUNTEER_V1_PROMPT, "锦江：" + VOLUNTEER_V1_PROMPT)
    v2 = await client.post("/api/v1/flows", json={"text": edited}, headers=auth(jinjiang))
    assert v2.status_code == 201 and v2.json()["version"] == 2

    again = await client.post("/api/v1/flows/volunteer/copy", json={"new_id": "jj_volunteer"}, headers=auth(jinjiang))
    assert again.status_code == 409
    outside = await client.post("/api/v1/flows/volunteer/copy", json={"new_id": "wh_volunteer", "organisation": "wuhou"},
                                headers=auth(jinjiang))  # fmt: skip
    assert outside.status_code == 404
    staff = await bearer(client, "zhangsan")
    assert (await client.post("/api/v1/flows/volunteer/copy", json={"new_id": "zs_volunteer"},
                              headers=auth(staff))).status_code == 403  # fmt: skip

    cache = FlowCache()
    async with staffed.transaction() as s:
        ids = {code: org_id for code, org_id in await s.execute(select(Organisation.code, Organisation.id))}
        repo = FlowRepository(s)
        for org, expected in (("jinjiang", "jj_volunteer"), ("chunxi", "jj_volunteer"), ("wuhou", "volunteer")):
            found = (await cache.catalog(repo, ids[org])).find("志愿服务")
            assert found is not None and found[1].id == expected, org
        assert (await cache.catalog(repo, ids["chunxi"])).find("志愿服务")[1].questions[0].prompt.zh.startswith("锦江：")  # type: ignore[index]
        shared = await repo.latest("volunteer")
        assert shared is not None and shared.version == 1
    assert ("staff:jinjiang_admin", "flow_copied", "jj_volunteer") in await audit_actions(staffed)


def test_a_copy_renames_only_the_top_level_id() -> None:
    assert renamed_source("# c\nid: a  # old\nq:\n  id: a\n", "b") == "# c\nid: b\nq:\n  id: a\n"
    with pytest.raises(FlowFileError):
        renamed_source("q:\n  id: a\n", "b")
