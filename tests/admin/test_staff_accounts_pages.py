"""/console/users — 员工账号: admins manage the accounts of their organisation and those
under it through forms (create, disable, new password, role or organisation). Accounts
elsewhere are answered like unknown ones; staff and viewers get the 403 page; every refusal
shows the service's message and changes nothing; every change is audited as the admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from bot.services.staff import create_user
from storage.db import Database
from storage.models import AuditEntry, StaffUser
from tests.admin.conftest import PASSWORD, T0
from tests.admin.test_console_pages import csrf_in, log_in

NEW_PASSWORD = "新的密码 Spring 2026!"
LOGIN_AUDIT = {"login_succeeded", "login_failed", "logged_out", "locked"}


@pytest_asyncio.fixture
async def accounts(staffed: Database) -> Database:
    """Beside the conftest's accounts (admin @ chengdu, zhangsan @ jinjiang, lisi @ chunxi):
    district admins of 锦江 and 武侯, and a staff member of 武侯."""
    async with staffed.transaction() as s:
        for username, org, role in (("jjadmin", "jinjiang", "admin"), ("whadmin", "wuhou", "admin"),
                                    ("wangwu", "wuhou", "staff")):  # fmt: skip
            await create_user(s, username=username, org_code=org, role=role, password=PASSWORD, now=T0)
    return staffed


pytestmark = pytest.mark.usefixtures("accounts")


@asynccontextmanager
async def console(app: FastAPI, username: str, password: str = PASSWORD) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client logged in as `username`, and its session's CSRF token."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await log_in(c, username, password)).status_code == 303
        yield c, csrf_in((await c.get("/console")).text)


async def can_log_in(app: FastAPI, username: str, password: str = PASSWORD) -> bool:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        return (await log_in(c, username, password)).status_code == 303


async def state(db: Database) -> tuple[Any, ...]:
    """Everything an action could change: the accounts, and the audit log beside logins."""
    async with db.transaction() as s:
        users = [
            (u.username, u.role, u.organisation_id, u.display_name, u.password_hash, u.disabled_at, u.locked_until)
            for u in await s.scalars(select(StaffUser).order_by(StaffUser.username))
        ]
        entries = [
            (e.actor, e.action, e.subject_id)
            for e in await s.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action not in LOGIN_AUDIT
        ]
    return tuple(users), tuple(entries)


async def audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.transaction() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


async def user(db: Database, username: str) -> StaffUser:
    async with db.transaction() as s:
        found = await s.scalar(select(StaffUser).where(StaffUser.username == username))
        assert found is not None
        return found


def rows(html: str) -> set[str]:
    """The usernames in the accounts table."""
    return set(re.findall(r'<tr data-username="([^"]+)">', html))


# --- seeing -------------------------------------------------------------------------------


async def test_the_city_admin_sees_every_account_with_chinese_then_english(app: FastAPI) -> None:
    async with console(app, "admin") as (c, _):
        r = await c.get("/console/users")
    assert r.status_code == 200
    html = r.text
    assert rows(html) == {"admin", "zhangsan", "lisi", "jjadmin", "whadmin", "wangwu"}
    assert 'href="/console/users"' in html and "员工账号" in html  # in the navigation
    assert "管理员 <span class=\"en\">Admin</span>" in html and "只读 <span class=\"en\">Viewer</span>" in html
    assert "正常 <span class=\"en\">Active</span>" in html and "从未 <span class=\"en\">Never</span>" in html
    assert "春熙路街道红十字服务站" in html and "王管理" in html
    assert 'type="password"' in html and 'name="password_again"' in html


async def test_a_district_admin_sees_only_their_district(app: FastAPI) -> None:
    async with console(app, "jjadmin") as (c, _):
        html = (await c.get("/console/users")).text
    assert rows(html) == {"zhangsan", "lisi", "jjadmin"}
    # Only their organisations to choose from.
    assert 'value="jinjiang"' in html and 'value="chunxi"' in html
    assert 'value="chengdu"' not in html and 'value="wuhou"' not in html and "武侯" not in html


@pytest.mark.parametrize("username", ["zhangsan", "lisi"])
async def test_staff_and_viewers_get_the_403_page_and_change_nothing(app: FastAPI, staffed: Database, username: str) -> None:
    before = await state(staffed)
    async with console(app, username) as (c, csrf):
        assert (await c.get("/console/users")).status_code == 403
        assert (await c.get("/console/users/zhangsan")).status_code == 403
        form = {"csrf_token": csrf, "username": "sneaky", "organisation": "chunxi", "role": "admin",
                "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}  # fmt: skip
        assert (await c.post("/console/users", data=form)).status_code == 403
        assert (await c.post("/console/users/lisi/disable", data={"csrf_token": csrf, "confirm": "yes"})).status_code == 403
        data = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        assert (await c.post("/console/users/lisi/password", data=data)).status_code == 403
        data = {"csrf_token": csrf, "role": "admin", "organisation": "chunxi"}
        assert (await c.post("/console/users/lisi/role", data=data)).status_code == 403
    assert await state(staffed) == before


# --- changing -----------------------------------------------------------------------------


async def test_an_admin_creates_an_account_that_logs_in(app: FastAPI, staffed: Database) -> None:
    async with console(app, "jjadmin") as (c, csrf):
        form = {"csrf_token": csrf, "username": " ZhaoLiu ", "name": "赵六", "organisation": "chunxi", "role": "viewer",
                "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}  # fmt: skip
        r = await c.post("/console/users", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/console/users?done=created&u=zhaoliu"
        html = (await c.get(r.headers["location"])).text
    assert "已创建账号：zhaoliu" in html and "Account created: zhaoliu" in html
    assert "zhaoliu" in rows(html) and "赵六" in html
    made = await user(staffed, "zhaoliu")
    assert made.role == "viewer" and made.display_name == "赵六"
    [entry] = [e for e in await audit(staffed, "staff_created") if e.subject_id == str(made.id)]
    assert entry.actor == "staff:jjadmin" and entry.data == {"role": "viewer", "organisation": "chunxi"}
    assert await can_log_in(app, "zhaoliu", NEW_PASSWORD)


async def test_an_admin_disables_an_account_its_session_ends_and_it_cannot_log_in(app: FastAPI, staffed: Database) -> None:
    async with console(app, "zhangsan") as (theirs, _):
        assert (await theirs.get("/console")).status_code == 200
        async with console(app, "jjadmin") as (c, csrf):
            page = await c.get("/console/users/zhangsan")
            assert page.status_code == 200 and "停用账号" in page.text and "Disable account" in page.text
            r = await c.post("/console/users/zhangsan/disable", data={"csrf_token": csrf, "confirm": "yes"})
            assert r.status_code == 303 and r.headers["location"] == "/console/users/zhangsan?done=disabled"
            html = (await c.get(r.headers["location"])).text
            assert "已停用账号" in html and "已停用 <span class=\"en\">Disabled</span>" in html
            assert "已停用" in (await c.get("/console/users")).text
        # The session that was open is over.
        assert (await theirs.get("/console")).status_code == 303
    assert not await can_log_in(app, "zhangsan")
    [entry] = await audit(staffed, "staff_disabled")
    assert entry.actor == "staff:jjadmin" and entry.subject_id == str((await user(staffed, "zhangsan")).id)


async def test_a_disabled_account_is_enabled_again_and_logs_in_with_its_password(
    app: FastAPI, staffed: Database
) -> None:
    async with console(app, "jjadmin") as (c, csrf):
        await c.post("/console/users/zhangsan/disable", data={"csrf_token": csrf, "confirm": "yes"})
        assert not await can_log_in(app, "zhangsan")
        page = await c.get("/console/users/zhangsan")
        assert "启用账号" in page.text and "Enable account" in page.text
        r = await c.post("/console/users/zhangsan/enable", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/console/users/zhangsan?done=enabled"
        html = (await c.get(r.headers["location"])).text
        assert "已启用账号" in html and "正常 <span class=\"en\">Active</span>" in html
        # Without the form's token nothing happens.
        await c.post("/console/users/zhangsan/disable", data={"csrf_token": csrf, "confirm": "yes"})
        refused = await c.post("/console/users/zhangsan/enable", data={})
        assert refused.status_code == 403
    assert not await can_log_in(app, "zhangsan")
    [entry] = await audit(staffed, "staff_enabled")
    assert entry.actor == "staff:jjadmin" and entry.data["organisation"] == "jinjiang"
    # Another district's admin: the same answer as for an account that does not exist.
    async with console(app, "whadmin") as (c, csrf):
        theirs = await c.post("/console/users/zhangsan/enable", data={"csrf_token": csrf})
        nobody = await c.post("/console/users/nobody/enable", data={"csrf_token": csrf})
        assert theirs.status_code == nobody.status_code == 404
    assert not await can_log_in(app, "zhangsan")


async def test_an_admin_sets_a_new_password_the_old_one_stops_working(app: FastAPI, staffed: Database) -> None:
    async with console(app, "admin") as (c, csrf):
        data = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        r = await c.post("/console/users/wangwu/password", data=data)
        assert r.status_code == 303 and r.headers["location"] == "/console/users/wangwu?done=password"
        assert "已重设密码" in (await c.get(r.headers["location"])).text
    assert NEW_PASSWORD not in r.headers["location"]
    assert not await can_log_in(app, "wangwu") and await can_log_in(app, "wangwu", NEW_PASSWORD)
    [entry] = await audit(staffed, "password_reset")
    assert entry.actor == "staff:admin" and NEW_PASSWORD not in str(entry.data)


async def test_an_admin_changes_a_role_and_an_organisation(app: FastAPI, staffed: Database) -> None:
    async with console(app, "jjadmin") as (c, csrf):
        r = await c.post("/console/users/zhangsan/role", data={"csrf_token": csrf, "role": "admin", "organisation": "chunxi"})
        assert r.status_code == 303 and r.headers["location"] == "/console/users/zhangsan?done=role"
        assert "已变更角色或机构" in (await c.get(r.headers["location"])).text
        r = await c.post("/console/users/zhangsan/role", data={"csrf_token": csrf, "role": "admin", "organisation": "chunxi"})
        assert r.headers["location"] == "/console/users/zhangsan?done=unchanged"
    changed = await user(staffed, "zhangsan")
    assert changed.role == "admin"
    [entry] = await audit(staffed, "staff_role_changed")
    assert entry.actor == "staff:jjadmin"
    assert (entry.data["role_before"], entry.data["role_after"]) == ("staff", "admin")
    assert (entry.data["organisation_before"], entry.data["organisation_after"]) == ("jinjiang", "chunxi")


# --- refusing -----------------------------------------------------------------------------


def _create(csrf: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "username": "zhaoliu", "name": "赵六", "organisation": "jinjiang", "role": "staff",
            "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}  # fmt: skip
    return {**form, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short", "password_again": "short"}, "密码至少 10 个字符 a password needs at least 10 characters"),
        ({"password": "1234567890", "password_again": "1234567890"}, "密码太容易猜到 the password is too easy to guess"),
        ({"password_again": NEW_PASSWORD + "x"}, "两次输入的密码不一致 the two passwords differ"),
        ({"username": "zhangsan"}, "用户名已存在 username already exists: zhangsan"),
        ({"username": "a b"}, "用户名为 2–64 个小写字母"),
        ({"role": "root"}, "未知角色 unknown role"),
        ({"organisation": "wuhou"}, "未知的机构或不在您的管理范围 unknown organisation, or outside your scope: wuhou"),
        ({"organisation": "nowhere"}, "未知的机构或不在您的管理范围 unknown organisation, or outside your scope: nowhere"),
    ],
    ids=["short", "common", "mismatch", "duplicate", "bad-username", "bad-role", "sibling-org", "unknown-org"],
)
async def test_a_refused_account_is_not_created(app: FastAPI, staffed: Database, changes: dict, message: str) -> None:
    async with console(app, "jjadmin") as (c, csrf):
        before = await state(staffed)
        r = await c.post("/console/users", data=_create(csrf, **changes))
        assert await state(staffed) == before
    assert r.status_code == 422 and message in r.text.replace("&#39;", "'")
    # The form comes back filled in, but never with a password.
    assert 'value="赵六"' in r.text and NEW_PASSWORD not in r.text


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("short", "short", "密码至少 10 个字符 a password needs at least 10 characters"),
        ("wangwu", "wangwu", "密码至少"),
        (NEW_PASSWORD, "something else entirely", "两次输入的密码不一致 the two passwords differ"),
    ],
    ids=["short", "username", "mismatch"],
)
async def test_a_refused_new_password_changes_nothing(
    app: FastAPI, staffed: Database, password: str, again: str, message: str
) -> None:
    async with console(app, "whadmin") as (c, csrf):
        before = await state(staffed)
        data = {"csrf_token": csrf, "password": password, "password_again": again}
        r = await c.post("/console/users/wangwu/password", data=data)
        assert await state(staffed) == before
    assert r.status_code == 422 and message in r.text and NEW_PASSWORD not in r.text
    assert await can_log_in(app, "wangwu")


@pytest.mark.parametrize("token", [None, "", "forged"], ids=["missing", "empty", "wrong"])
async def test_without_the_csrf_token_every_form_is_refused(app: FastAPI, staffed: Database, token: str | None) -> None:
    async with console(app, "admin") as (c, _):
        before = await state(staffed)
        extra = {} if token is None else {"csrf_token": token}
        answers = [
            await c.post("/console/users", data={**_create(""), **extra} if token is not None else
                         {k: v for k, v in _create("").items() if k != "csrf_token"}),  # fmt: skip
            await c.post("/console/users/zhangsan/disable", data={"confirm": "yes", **extra}),
            await c.post("/console/users/zhangsan/password",
                         data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD, **extra}),  # fmt: skip
            await c.post("/console/users/zhangsan/role", data={"role": "admin", **extra}),
        ]
        assert await state(staffed) == before
    for r in answers:
        assert r.status_code == 403 and "表单已过期" in r.text


async def test_an_admin_cannot_disable_or_change_themselves(app: FastAPI, staffed: Database) -> None:
    async with console(app, "admin") as (c, csrf):
        page = (await c.get("/console/users/admin")).text
        assert "这是您自己的账号" in page and "/console/users/admin/disable" not in page
        before = await state(staffed)
        r = await c.post("/console/users/admin/disable", data={"csrf_token": csrf, "confirm": "yes"})
        assert r.status_code == 422 and "不能停用自己的账号 you cannot disable your own account" in r.text
        data = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        r = await c.post("/console/users/admin/password", data=data)
        assert r.status_code == 422 and "不能在此重设自己的密码" in r.text
        r = await c.post("/console/users/admin/role", data={"csrf_token": csrf, "role": "staff", "organisation": "chengdu"})
        assert r.status_code == 422 and "不能变更自己的角色或机构" in r.text
        assert await state(staffed) == before
        assert (await c.get("/console/users")).status_code == 200  # still logged in, still an admin


async def test_disabling_needs_the_box_ticked(app: FastAPI, staffed: Database) -> None:
    async with console(app, "admin") as (c, csrf):
        before = await state(staffed)
        r = await c.post("/console/users/zhangsan/disable", data={"csrf_token": csrf})
        assert r.status_code == 422 and "请勾选确认" in r.text
        assert await state(staffed) == before


def _same(html: str, username: str) -> str:
    """A page with the account's name taken out, to compare with the unknown account's."""
    return html.replace(f"no such user: {username}<", "no such user: WHO<")


@pytest.mark.parametrize("outside", ["admin", "whadmin", "wangwu"], ids=["city", "sibling-admin", "sibling-staff"])
async def test_accounts_outside_the_scope_are_answered_like_unknown_ones(
    app: FastAPI, staffed: Database, outside: str
) -> None:
    unknown = "nobody"
    async with console(app, "jjadmin") as (c, csrf):
        before = await state(staffed)
        for name in (outside, unknown):
            assert name not in rows((await c.get("/console/users")).text)

        async def answers(name: str) -> list[httpx.Response]:
            pw = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
            return [
                await c.get(f"/console/users/{name}"),
                await c.post(f"/console/users/{name}/disable", data={"csrf_token": csrf, "confirm": "yes"}),
                await c.post(f"/console/users/{name}/disable", data={"csrf_token": csrf}),
                await c.post(f"/console/users/{name}/password", data=pw),
                await c.post(f"/console/users/{name}/password", data={**pw, "password_again": "differs"}),
                await c.post(f"/console/users/{name}/role", data={"csrf_token": csrf, "role": "viewer", "organisation": "chunxi"}),
            ]

        theirs, nobodys = await answers(outside), await answers(unknown)
        assert await state(staffed) == before
    for a, b in zip(theirs, nobodys, strict=True):
        assert a.status_code == b.status_code == 404
        assert f"没有这个用户 no such user: {outside}" in a.text
        assert _same(a.text, outside) == _same(b.text, unknown)
    assert await can_log_in(app, outside)


async def test_a_locked_account_shows_until_when_and_a_new_password_lifts_the_lock(app: FastAPI, staffed: Database) -> None:
    async with staffed.transaction() as s:
        locked = await s.scalar(select(StaffUser).where(StaffUser.username == "lisi"))
        assert locked is not None
        locked.locked_until = datetime(2099, 1, 1, 1, 0, tzinfo=UTC)
    async with console(app, "admin") as (c, csrf):
        html = (await c.get("/console/users")).text
        assert "已锁定 <span class=\"en\">Locked</span>" in html and "至 2099-01-01 09:00" in html  # Shanghai time
        data = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        assert (await c.post("/console/users/lisi/password", data=data)).status_code == 303
        assert "已锁定" not in (await c.get("/console/users")).text
    assert (await user(staffed, "lisi")).locked_until is None


async def test_the_district_admin_sees_what_the_city_admin_did_to_their_accounts(app: FastAPI, staffed: Database) -> None:
    async with console(app, "admin") as (c, csrf):
        assert (await c.post("/console/users/zhangsan/disable", data={"csrf_token": csrf, "confirm": "yes"})).status_code == 303
        data = {"csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        assert (await c.post("/console/users/lisi/password", data=data)).status_code == 303
    for action in ("staff_disabled", "password_reset"):
        [entry] = await audit(staffed, action)
        assert entry.actor == "staff:admin" and entry.data["organisation"] in ("jinjiang", "chunxi")
    async with console(app, "jjadmin") as (c, _):
        html = (await c.get("/console/audit?actor=staff:admin")).text
    assert "staff_disabled" in html and "password_reset" in html
    async with console(app, "whadmin") as (c, _):
        html = (await c.get("/console/audit?actor=staff:admin")).text
    assert "staff_disabled" not in html and "password_reset" not in html
