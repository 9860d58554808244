"""/console/account (我的账号): anyone logged in changes their own password, proved by the
current one; their other sessions end, this one stays; wrong current passwords count towards
the lockout, which ends every session of the account."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry, StaffUser
from tests.admin.conftest import PASSWORD
from tests.admin.test_staff_accounts_pages import can_log_in, console

NEW = "换一个新的密码 Autumn 2026"


async def _audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.transaction() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def _user(db: Database, username: str) -> StaffUser:
    async with db.transaction() as s:
        found = await s.scalar(select(StaffUser).where(StaffUser.username == username))
        assert found is not None
        return found


async def test_a_viewer_changes_their_password_and_their_other_sessions_end(app: FastAPI, staffed: Database) -> None:
    async with console(app, "lisi") as (elsewhere, _), console(app, "lisi") as (c, csrf):
        page = await c.get("/console/account")
        assert page.status_code == 200 and "我的账号" in page.text and "My account" in page.text and "李四" in page.text
        assert 'href="/console/account"' in (await c.get("/console")).text  # their name in the header leads here
        data = {"csrf_token": csrf, "current": PASSWORD, "password": NEW, "password_again": NEW}
        r = await c.post("/console/account/password", data=data)
        assert r.status_code == 303 and r.headers["location"] == "/console/account?done=password"
        assert "密码已修改" in (await c.get(r.headers["location"])).text  # this session goes on
        assert (await elsewhere.get("/console")).status_code == 303  # the other one is over
    assert not await can_log_in(app, "lisi") and await can_log_in(app, "lisi", NEW)
    [entry] = await _audit(staffed, "password_changed")
    assert entry.actor == "staff:lisi" and entry.data["other_sessions_ended"] == 1
    assert NEW not in str(entry.data) and PASSWORD not in str(entry.data)


async def test_refusals_change_nothing_and_say_why(app: FastAPI, staffed: Database) -> None:
    before = (await _user(staffed, "zhangsan")).password_hash
    async with console(app, "zhangsan") as (c, csrf):
        for form, words in [
            ({"current": PASSWORD, "password": NEW, "password_again": NEW + "x"}, "两次输入的新密码不一致"),
            ({"current": PASSWORD, "password": "short", "password_again": "short"}, "at least 10 characters"),
            ({"current": PASSWORD, "password": PASSWORD, "password_again": PASSWORD}, "must differ from the current"),
            ({"current": "不是这个密码 wrong one", "password": NEW, "password_again": NEW}, "the current password is wrong"),
        ]:
            r = await c.post("/console/account/password", data={"csrf_token": csrf, **form})
            assert r.status_code == 422 and words in r.text, words
        assert (await c.post("/console/account/password", data={"current": PASSWORD, "password": NEW,
                                                                  "password_again": NEW})).status_code == 403  # fmt: skip
        assert (await c.get("/console")).status_code == 200
    assert (await _user(staffed, "zhangsan")).password_hash == before
    assert await can_log_in(app, "zhangsan")


async def test_wrong_current_passwords_lock_the_account_and_end_its_sessions(app: FastAPI, staffed: Database) -> None:
    # A stolen session cannot try passwords here freely: five wrong ones lock the account.
    async with console(app, "zhangsan") as (c, csrf):
        for _ in range(5):
            data = {"csrf_token": csrf, "current": "猜一个密码 guess 123", "password": NEW, "password_again": NEW}
            r = await c.post("/console/account/password", data=data)
            assert r.status_code in (422, 303)  # the fifth ends the session itself
        assert (await c.get("/console")).status_code == 303
    user = await _user(staffed, "zhangsan")
    assert user.locked_until is not None and user.failed_logins == 5
    assert len(await _audit(staffed, "password_change_failed")) == 5 and len(await _audit(staffed, "locked")) == 1
    assert not await can_log_in(app, "zhangsan")  # locked, with the right password too


async def test_the_page_needs_a_login(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/console/account")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
