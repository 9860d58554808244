"""/console/respondents/import: an admin uploads a list, sees the preview (nothing stored),
confirms (stored, audited); a GBK file from Excel; wrong rows listed with their numbers and
stored only when skipped; organisations outside the admin's scope refused; staff refused;
an upload is bound to the login that sent it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.app import create_app
from bot.services.staff import create_user
from storage.db import Database
from storage.models import AuditEntry, Respondent, StagedUpload
from tests.admin.conftest import PASSWORD, T0, settings_for
from tests.admin.test_console_pages import csrf_in, log_in
from tests.admin.tickets_world import publish_flow

GOOD = "姓名,手机,类别,机构,标签\n陈阿姨,13812345678,人道救助,jinjiang,独居\n刘大爷,139 0000 1111,humanitarian_aid,chunxi,\n"


@pytest_asyncio.fixture
async def app(db_url: str, staffed: Database) -> AsyncIterator[FastAPI]:
    await publish_flow(staffed)
    async with staffed.transaction() as s:
        await create_user(
            s, username="jjadmin", org_code="jinjiang", role="admin", name="锦江管理", password=PASSWORD, now=T0
        )
    application = create_app(settings_for(db_url, in_process_worker=False))
    async with application.router.lifespan_context(application):
        yield application


async def _count(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Respondent)) or 0)


async def _upload(client: httpx.AsyncClient, data: bytes, name: str = "list.csv", **form: str) -> httpx.Response:
    page = await client.get("/console/respondents/import")
    assert page.status_code == 200, page.text
    return await client.post(
        "/console/respondents/import",
        data={"csrf_token": csrf_in(page.text), **form},
        files={"file": (name, data, "text/csv")},
    )


def _count_in(html: str, which: str) -> int:
    found = re.search(rf'id="count-{which}">(\d+)<', html)
    assert found, which
    return int(found.group(1))


async def _preview(client: httpx.AsyncClient, data: bytes, **form: str) -> httpx.Response:
    sent = await _upload(client, data, **form)
    assert sent.status_code == 303, sent.text
    page = await client.get(sent.headers["location"])
    assert page.status_code == 200, page.text
    return page


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def _confirm(client: httpx.AsyncClient, preview: httpx.Response, **extra: str) -> httpx.Response:
    return await client.post(
        "/console/respondents/import/confirm",
        data={"csrf_token": csrf_in(preview.text), "token": _token(preview.text), "organisation": "", **extra},
    )


async def test_the_preview_changes_nothing_and_confirming_stores_and_audits(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    await log_in(client, "admin")
    page = await _preview(client, GOOD.encode())
    assert (_count_in(page.text, "new"), _count_in(page.text, "errors")) == (2, 0)
    assert "尚未保存任何数据" in page.text and await _count(staffed) == 0
    done = await _confirm(client, page)
    assert done.status_code == 200 and 'id="done-created">2<' in done.text, done.text
    async with staffed.transaction() as s:
        people = {r.name: r for r in await s.scalars(select(Respondent))}
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "respondents_imported"))
        staged = await s.scalar(select(func.count()).select_from(StagedUpload))
    assert people["刘大爷"].phone == "13900001111" and people["陈阿姨"].tags == ["独居"]
    assert entry is not None and entry.actor == "staff:admin" and entry.data["created"] == 2
    assert staged == 0
    # Confirming again (a double click, the back button) imports nothing more.
    again = await _confirm(client, page)
    assert again.status_code == 400 and "上传已过期" in again.text and await _count(staffed) == 2
    # The same list again: both are duplicates now.
    page = await _preview(client, GOOD.encode())
    assert (_count_in(page.text, "new"), _count_in(page.text, "unchanged")) == (0, 2)


async def test_a_gbk_file_from_excel_is_read(client: httpx.AsyncClient, staffed: Database) -> None:
    await log_in(client, "admin")
    page = await _preview(client, GOOD.encode("gbk"))
    assert _count_in(page.text, "new") == 2 and "gb18030" in page.text
    assert (await _confirm(client, page)).status_code == 200
    async with staffed.transaction() as s:
        assert set(await s.scalars(select(Respondent.name))) == {"陈阿姨", "刘大爷"}


async def test_wrong_rows_are_listed_by_number_and_stored_only_when_skipped(
    client: httpx.AsyncClient, staffed: Database
) -> None:
    await log_in(client, "admin")
    bad = (
        GOOD
        + "王奶奶,12345,人道救助,jinjiang,\n赵叔,13812345678,人道救助,jinjiang,\n钱姐,13700002222,火星救援,jinjiang,\n"
    )
    page = await _preview(client, bad.encode())
    assert _count_in(page.text, "errors") == 3 and _count_in(page.text, "new") == 2
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td></tr>', page.text)
    assert [int(n) for n, _ in rows] == [4, 5, 6]
    assert "手机号无效" in rows[0][1] and "与第2行手机号重复" in rows[1][1] and "未知的类别" in rows[2][1]
    refused = await _confirm(client, page)
    assert refused.status_code == 400 and "未导入任何数据" in refused.text and await _count(staffed) == 0
    # The same preview again, with its wrong rows and the box to skip them: not a blank form.
    assert 'id="refused"' in refused.text and _count_in(refused.text, "errors") == 3
    assert 'name="skip_errors"' in refused.text and _token(refused.text) == _token(page.text)
    done = await _confirm(client, refused, skip_errors="true")
    assert done.status_code == 200 and await _count(staffed) == 2


async def test_organisations_outside_the_admins_scope_are_refused(client: httpx.AsyncClient, staffed: Database) -> None:
    await log_in(client, "jjadmin")
    rows = "姓名,手机,类别,机构\n陈阿姨,13812345678,人道救助,chunxi\n刘大爷,13900001111,人道救助,wuhou\n"
    page = await _preview(client, rows.encode())
    assert _count_in(page.text, "errors") == 1 and "不在您的管理范围" in page.text
    assert "武侯区红十字会" not in page.text
    # Nor can rows without one be sent there.
    sent = await _upload(client, b"name,phone,category\nA,13812345678,humanitarian_aid\n", organisation="wuhou")
    shown = await client.get(sent.headers["location"])
    assert shown.status_code == 400 and "不在您的管理范围" in shown.text
    done = await _confirm(client, page, skip_errors="true")
    assert done.status_code == 200
    async with staffed.transaction() as s:
        assert list(await s.scalars(select(Respondent.name))) == ["陈阿姨"]


async def test_staff_are_refused_and_an_upload_belongs_to_its_login(app: FastAPI, staffed: Database) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://test") as admin,
        httpx.AsyncClient(transport=transport, base_url="http://test") as other,
        httpx.AsyncClient(transport=transport, base_url="http://test") as staff,
    ):
        await log_in(staff, "zhangsan")
        assert (await staff.get("/console/respondents/import")).status_code == 403
        await log_in(admin, "admin")
        page = await _preview(admin, GOOD.encode())
        await log_in(other, "admin")  # the same account, another login
        stolen = await other.get(f"/console/respondents/import/preview?token={_token(page.text)}")
        assert stolen.status_code == 400 and "上传已过期" in stolen.text
        form = await other.get("/console/respondents/import")
        taken = await other.post(
            "/console/respondents/import/confirm", data={"csrf_token": csrf_in(form.text), "token": _token(page.text)}
        )
        assert taken.status_code == 400 and "上传已过期" in taken.text
        assert await _count(staffed) == 0


async def test_empty_unreadable_and_oversized_files_are_refused(client: httpx.AsyncClient, staffed: Database) -> None:
    await log_in(client, "admin")
    empty = await _upload(client, b"")
    assert empty.status_code == 400 and "文件是空的" in empty.text
    binary = await _preview_error(client, b"\x00\x01\x02 not a table")
    assert "不是 CSV 或 XLSX" in binary
    huge = await _upload(client, b"x" * (21 * 1024 * 1024))
    assert huge.status_code == 403 and "文件太大" in huge.text
    async with staffed.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(StagedUpload)) == 1  # only the binary one


async def _preview_error(client: httpx.AsyncClient, data: bytes) -> str:
    sent = await _upload(client, data)
    assert sent.status_code == 303
    shown = await client.get(sent.headers["location"])
    assert shown.status_code == 400
    return shown.text
