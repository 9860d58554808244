"""The console's flow pages: who may see and change what, the editor's errors at their
lines, publishing refused with lint errors, the diagram, the draft simulator (the engine's
answers, nothing stored), rollback with sessions kept on their version, diff, copy, and
XLSForm import (preview, refusals, confirm) and export, each change audited."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import func, select

from admin.flows.pages import NEW_FLOW
from bot.services.draft_simulator import simulate_draft
from bot.services.flow_versions import validate_draft
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from bot.services.xlsform import MAX_BYTES, import_workbook
from flows.diagram import flow_svg
from flows.loader import DEFAULTS_DIR, load_path
from flows.schema import Flow
from storage.db import Database
from storage.models import Answer, AuditEntry, FlowVersion, Respondent, SurveySession, Ticket
from storage.repositories.flows import FlowRepository
from tests.admin.test_console_pages import csrf_in, log_in
from tests.admin.test_flows_api import BROKEN, DRAFT, district_admins
from tests.bot.conftest import Chat
from tests.bot.test_xlsform_cli import CHOICES, SETTINGS, SURVEY, workbook

Login = Callable[[str], Awaitable[httpx.AsyncClient]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest_asyncio.fixture
async def world(staffed: Database) -> Database:
    await prepare(staffed, migrate=False, publish_defaults=True)
    await district_admins(staffed)
    return staffed


@pytest_asyncio.fixture
async def login(app: FastAPI) -> AsyncIterator[Login]:
    clients: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        clients.append(c)
        r = await log_in(c, username)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        await c.aclose()


async def publish_page(c: httpx.AsyncClient, text: str, **form: str) -> httpx.Response:
    page = await c.get("/console/flows/new")
    assert page.status_code == 200, page.text
    return await c.post("/console/flows/publish", data={"csrf_token": csrf_in(page.text), "text": text, **form})


async def counts(db: Database) -> dict[str, int]:
    async with db.transaction() as s:
        return {
            m.__name__: await s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Respondent, SurveySession, Answer, Ticket, FlowVersion, AuditEntry)
        }


async def flow_audit(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    async with db.transaction() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "flow").order_by(AuditEntry.id))
        return [(a.actor, a.action, a.subject_id or "", dict(a.data or {})) for a in rows]


async def test_who_sees_and_who_changes_each_page(world: Database, login: Login, client: httpx.AsyncClient) -> None:
    jinjiang = await login("jinjiang_admin")
    assert (await publish_page(jinjiang, DRAFT)).status_code == 303
    anonymous = await client.get("/console/flows")
    assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]

    # A station's viewer and a district's staff read jinjiang's flow (it serves them) and the shared ones…
    for username in ("lisi", "zhangsan"):
        c = await login(username)
        listed = await c.get("/console/flows")
        assert listed.status_code == 200 and "jj_volunteer" in listed.text and "humanitarian_aid" in listed.text
        assert "新建流程" not in listed.text  # no editing links for them
        page = await c.get("/console/flows/jj_volunteer")
        assert (
            page.status_code == 200
            and "锦江志愿服务回访" in page.text
            and 'action="/console/flows/jj_volunteer/rollback"' not in page.text
        )
        assert (await c.get("/console/flows/jj_volunteer/diff?from=1&to=1")).status_code == 200
        assert (await c.get("/console/flows/jj_volunteer/versions/1/xlsform")).status_code == 200
        # …and change nothing: every editing page and form is refused.
        for path in ("/console/flows/new", "/console/flows/import", "/console/flows/jj_volunteer/edit"):
            assert (await c.get(path)).status_code == 403, path
        token = csrf_in(page.text) if "csrf_token" in page.text else ""
        for path, form in (
            ("/console/flows/publish", {"text": DRAFT}),
            ("/console/flows/jj_volunteer/rollback", {"version": "1"}),
            ("/console/flows/humanitarian_aid/copy", {"new_id": "mine"}),
            ("/console/flows/import/confirm", {"text": DRAFT, "file_name": "x.xlsx"}),
        ):
            assert (await c.post(path, data={"csrf_token": token, **form})).status_code == 403, path

    # Another district's admin: jinjiang's flow does not exist for them.
    wuhou = await login("wuhou_admin")
    listed = await wuhou.get("/console/flows")
    assert listed.status_code == 200 and "jj_volunteer" not in listed.text
    token = csrf_in(listed.text)
    for path in ("", "/edit", "/diff?from=1&to=1", "/versions/1/xlsform"):
        assert (await wuhou.get(f"/console/flows/jj_volunteer{path}")).status_code == 404, path
    for path, form in (("rollback", {"version": "1"}), ("copy", {"new_id": "wh_copy"})):
        r = await wuhou.post(f"/console/flows/jj_volunteer/{path}", data={"csrf_token": token, **form})
        assert r.status_code == 404, path
    outside = await wuhou.post(
        "/console/flows/publish", data={"csrf_token": token, "text": DRAFT, "organisation": "jinjiang"}
    )
    assert outside.status_code == 404
    # A district admin cannot edit the shared default, only copy it.
    assert (await wuhou.get("/console/flows/humanitarian_aid/edit")).status_code == 403
    # A form without its CSRF token changes nothing.
    forged = await jinjiang.post("/console/flows/jj_volunteer/rollback", data={"version": "1"})
    assert forged.status_code == 403
    async with world.transaction() as s:
        assert [v.version for v in await FlowRepository(s).versions("jj_volunteer")] == [1]
        assert await FlowRepository(s).latest("wh_copy") is None


async def test_lint_errors_are_shown_at_their_lines_and_refuse_the_publish(world: Database, login: Login) -> None:
    jinjiang = await login("jinjiang_admin")
    editor = await jinjiang.get("/console/flows/new")
    checked = await jinjiang.post(
        "/api/v1/flows/validate", json={"text": BROKEN}, headers={"X-CSRF-Token": csrf_in(editor.text)}
    )
    errors = checked.json()["errors"]
    assert [(e["line"], e["zh"]) for e in errors] == [(15, "问题编号“overall”重复")]
    before = await counts(world)
    refused = await publish_page(jinjiang, BROKEN, note="坏的 broken")
    assert refused.status_code == 422
    assert 'data-line="15"' in refused.text and "第 15 行" in refused.text and "问题编号“overall”重复" in refused.text
    assert await counts(world) == before  # nothing stored, nothing audited

    done = await publish_page(jinjiang, DRAFT, note="第一版 first")
    assert done.status_code == 303 and done.headers["location"] == "/console/flows/jj_volunteer?published=1"
    page = await jinjiang.get(done.headers["location"])
    assert "已发布第 1 版" in page.text and "staff:jinjiang_admin" in page.text and "第一版 first" in page.text
    assert [
        (actor, action, subject, data["note"], data["version"])
        for actor, action, subject, data in await flow_audit(world)
    ] == [("staff:jinjiang_admin", "flow_published", "jj_volunteer", "第一版 first", 1)]


def test_the_new_flow_template_is_a_valid_flow() -> None:
    flow, errors = validate_draft("new.yaml", NEW_FLOW)
    assert errors == [] and flow is not None and [q.id for q in flow.questions] == ["overall", "why"]


def test_the_diagram_draws_every_question_and_branch() -> None:
    flow, _, errors = load_path(DEFAULTS_DIR / "humanitarian_aid.yaml")
    assert flow is not None, errors
    svg = flow_svg(flow)
    for q in flow.questions:
        assert f'data-state="{q.id}"' in svg
        assert q.prompt.zh[:10] in svg
    assert 'data-state="end"' in svg and 'data-state="declined"' in svg
    branched = [q for q in flow.questions if isinstance(q.next, list) and any(b.when for b in q.next)]
    assert branched, "the default should have a branch to draw"
    for q in branched:
        for b in q.next:  # type: ignore[union-attr]
            if b.when is not None:
                assert f"→ {b.goto}  如果 if {b.when.question}" in svg
    hostile = Flow.model_validate(
        {**flow.model_dump(mode="json"), "title": {"zh": "<script>alert(1)</script>", "en": "x"}}
    )
    assert "<script>" not in flow_svg(hostile)


async def test_the_draft_diagram_and_simulator_endpoints(world: Database, login: Login) -> None:
    viewer = await login("lisi")
    token = csrf_in((await viewer.get("/console/flows")).text)
    headers = {"X-CSRF-Token": token}
    drawn = (await viewer.post("/console/flows/draft/diagram", json={"text": DRAFT}, headers=headers)).json()
    assert drawn["ok"] and 'data-state="overall"' in drawn["svg"] and "您满意吗？" in drawn["svg"]
    broken = (await viewer.post("/console/flows/draft/diagram", json={"text": BROKEN}, headers=headers)).json()
    assert broken["ok"] is False and broken["errors"][0]["line"] == 15
    assert (await viewer.post("/console/flows/draft/diagram", json={"text": DRAFT})).status_code == 403  # no CSRF

    before = await counts(world)
    sim = await viewer.post(
        "/console/flows/draft/simulate", json={"text": DRAFT, "inputs": ["好的", "是", "都挺好"]}, headers=headers
    )
    body = sim.json()
    assert sim.status_code == 200 and body["ok"] and body["lifecycle"] == "completed", body
    said = [t["said"] for t in body["turns"]]
    assert said == [None, "好的", "是", "都挺好"]
    assert "您满意吗？" in body["turns"][1]["messages"][0]["text"]
    assert "问卷完成 survey completed" in body["turns"][3]["notes"]
    assert await counts(world) == before  # a draft's conversation stores nothing at all


async def test_the_draft_simulator_answers_as_the_published_flow_does(world: Database) -> None:
    """The same words through the runtime (a published flow, a test respondent) and through
    the simulator (the same text as a draft) get the same messages."""
    text = (DEFAULTS_DIR / "humanitarian_aid.yaml").read_text(encoding="utf-8")
    said = ["好", "2", "一般般吧", "补助还没到账，没人管", "跳过", "3", "1", "没有了"]
    chat = Chat(Runtime(world), "sim-compare")
    chat.at = datetime.now(UTC)
    published = [await chat.start("humanitarian_aid")] + [await chat.say(t) for t in said]
    draft = simulate_draft(text, said, lang="zh", now=chat.at)
    assert draft.errors == []
    assert [[m.text for m in r.messages] for r in published] == [[m.text for m in t.messages] for t in draft.turns]
    assert [[m.choices for m in r.messages] for r in published] == [
        [m.choices for m in t.messages] for t in draft.turns
    ]


async def test_rollback_diff_and_copy_from_the_pages_keep_sessions_on_their_version(
    world: Database, login: Login
) -> None:
    city = await login("admin")
    chat = Chat(Runtime(world), "on-v1")
    chat.at = datetime.now(UTC)
    await chat.start("volunteer")
    await chat.say("是")  # a session under way on version 1

    original = (DEFAULTS_DIR / "volunteer.yaml").read_text(encoding="utf-8")
    edited = original.replace("您对参加过的红十字志愿服务活动，总体评价怎么样？", "第二版：志愿服务怎么样？")
    assert edited != original
    editor = await city.get("/console/flows/volunteer/edit")
    assert editor.status_code == 200 and "volunteer" in editor.text and 'value="__shared__" selected' in editor.text
    r = await city.post("/console/flows/publish", data={
        "csrf_token": csrf_in(editor.text), "text": edited, "organisation": "__shared__", "note": "改措辞 wording",
    })  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/console/flows/volunteer?published=2"
    page = await city.get("/console/flows/volunteer")
    rows = re.findall(
        r'<a href="/console/flows/volunteer\?version=(\d)">v\d</a></td>.*?<td class="num">(\d+)</td>', page.text, re.S
    )
    assert rows == [("2", "0"), ("1", "1")]  # the open session stays on version 1

    diff = await city.get("/console/flows/volunteer/diff?from=1&to=2")
    assert (
        '<span class="del">-' in diff.text
        and '<span class="add">+' in diff.text
        and "第二版：志愿服务怎么样？" in diff.text
    )

    rolled = await city.post(
        "/console/flows/volunteer/rollback", data={"csrf_token": csrf_in(page.text), "version": "1"}
    )
    assert rolled.status_code == 303 and rolled.headers["location"] == "/console/flows/volunteer?published=3"
    await chat.say("1")  # still answering version 1's questions
    async with world.transaction() as s:
        versions = await s.scalars(
            select(FlowVersion.version).join(SurveySession, SurveySession.flow_version_id == FlowVersion.id)
        )
        assert list(versions) == [1]

    jinjiang = await login("jinjiang_admin")
    shared = await jinjiang.get("/console/flows/volunteer")
    assert 'value="jinjiang_volunteer"' in shared.text  # the suggested id of a copy
    copied = await jinjiang.post(
        "/console/flows/volunteer/copy", data={"csrf_token": csrf_in(shared.text), "new_id": "jinjiang_volunteer"}
    )
    assert copied.status_code == 303 and copied.headers["location"] == "/console/flows/jinjiang_volunteer/edit"
    assert (await jinjiang.get(copied.headers["location"])).status_code == 200
    bad = await jinjiang.post(
        "/console/flows/volunteer/copy", data={"csrf_token": csrf_in(shared.text), "new_id": "坏"}
    )
    assert bad.status_code == 422
    assert [(actor, action, subject) for actor, action, subject, _ in await flow_audit(world)] == [
        ("staff:admin", "flow_published", "volunteer"),
        ("staff:admin", "flow_rolled_back", "volunteer"),
        ("staff:jinjiang_admin", "flow_copied", "jinjiang_volunteer"),
    ]


async def test_xlsform_upload_previews_refuses_and_publishes_only_when_confirmed(world: Database, login: Login) -> None:
    jinjiang = await login("jinjiang_admin")
    form = await jinjiang.get("/console/flows/import")
    assert form.status_code == 200 and "5 MB" in form.text
    token = csrf_in(form.text)

    async def upload(data: bytes, name: str = "回访表.xlsx") -> httpx.Response:
        return await jinjiang.post(
            "/console/flows/import", data={"csrf_token": token, "organisation": "jinjiang"},
            files={"workbook": (name, data, XLSX)},
        )  # fmt: skip

    before = await counts(world)
    formula = [list(r) for r in SURVEY]
    formula[3][2] = '=CONCATENATE("哪里", "不满意")'
    refusals = [
        (b"type,name\ntext,q\n", "not an .xlsx workbook"),
        (workbook({"survey": formula, "choices": CHOICES, "settings": SETTINGS}), "C4 是公式 is a formula"),
        (b"PK" + b"\0" * MAX_BYTES, "文件太大 too large"),
    ]
    for data, problem in refusals:
        r = await upload(data)
        assert r.status_code == 422 and problem in r.text and "没有发布任何内容" in r.text, problem
    r = await upload(workbook({"survey": formula, "choices": CHOICES, "settings": SETTINGS}))
    assert re.search(r"<td>survey</td><td>4</td>", r.text)  # the sheet and row
    preview = await upload(workbook())
    assert preview.status_code == 200
    for q in ("overall", "why_unhappy", "household", "您对救助总体评价怎么样？", 'data-state="household"'):
        assert q in preview.text
    assert await counts(world) == before  # a preview stores nothing

    text = re.search(r'name="text" value="([^"]*)"', preview.text, re.S)
    assert text is not None
    confirmed = await jinjiang.post("/console/flows/import/confirm", data={
        "csrf_token": token, "text": html.unescape(text.group(1)), "file_name": "回访表.xlsx",
        "organisation": "jinjiang", "note": "从表格导入",
    })  # fmt: skip
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/console/flows/aid_followup?published=1"
    (actor, action, subject, data) = (await flow_audit(world))[-1]
    assert (actor, action, subject, data["format"], data["file"], data["organisation"]) == (
        "staff:jinjiang_admin", "flow_imported", "aid_followup", "xlsform", "回访表.xlsx", "jinjiang",
    )  # fmt: skip
    exported = await jinjiang.get("/console/flows/aid_followup/versions/1/xlsform")
    assert exported.headers["content-type"] == XLSX
    load_workbook(io.BytesIO(exported.content))  # a real workbook…
    again = Flow.model_validate(import_workbook(exported.content))
    assert again.content_hash == Flow.model_validate(import_workbook(workbook())).content_hash  # …of the same flow
