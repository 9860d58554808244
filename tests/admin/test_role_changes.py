"""Changing a staff account's role or organisation: `huifang users set-role` and the
service an admin acts through; each change in the audit log in its transaction, refusals
change nothing and record nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services.staff import StaffError, authenticate, start_session
from bot.services.staff_roles import change_role
from storage.db import Database
from storage.models import AuditEntry, StaffUser
from tests.admin.conftest import PASSWORD, T0
from tests.admin.test_users_cli import huifang  # noqa: F401  (fixture)


async def _entries(db: Database) -> list[AuditEntry]:
    async with db.transaction() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "staff_role_changed")))


async def _user(db: Database, username: str) -> StaffUser:
    async with db.transaction() as s:
        user = await s.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return user


async def _principal(db: Database, username: str):
    async with db.transaction() as s:
        user = await authenticate(s, username=username, password=PASSWORD, now=T0)
        assert user is not None
        return (await start_session(s, user, kind="cookie", now=T0)).principal


async def test_an_admin_changes_a_role_in_scope_and_the_audit_log_says_who_and_what(staffed: Database) -> None:
    admin = await _principal(staffed, "admin")
    async with staffed.transaction() as s:
        done = await change_role(s, username="zhangsan", role="admin", org_code="wuhou", actor=admin, now=T0)
    assert done.changed and (done.role_before, done.role_after) == ("staff", "admin")
    user = await _user(staffed, "zhangsan")
    assert user.role == "admin"
    [entry] = await _entries(staffed)
    assert entry.actor == "staff:admin" and entry.subject_id == str(user.id)
    assert entry.data["role_before"] == "staff" and entry.data["role_after"] == "admin"
    assert entry.data["organisation_before"] == "jinjiang" and entry.data["organisation"] == "wuhou"


async def test_refusals_change_nothing_and_record_nothing(staffed: Database) -> None:
    async with staffed.transaction() as s:
        from bot.services.staff import create_user

        await create_user(s, username="jjadmin", org_code="jinjiang", role="admin", password=PASSWORD, now=T0)
    district_admin = await _principal(staffed, "jjadmin")
    staff = await _principal(staffed, "zhangsan")
    refused = [
        (staff, "lisi", "admin", None, "只有管理员"),  # not an admin
        (district_admin, "admin", "viewer", None, "没有这个用户"),  # above their scope: as unknown
        (district_admin, "lisi", None, "wuhou", "不在您的管理范围"),  # moving someone out of scope
        (district_admin, "jjadmin", "viewer", None, "不能变更自己"),
        (district_admin, "lisi", "boss", None, "未知角色"),
    ]
    for actor, username, role, org, message in refused:
        with pytest.raises(StaffError, match=message):
            async with staffed.transaction() as s:
                await change_role(s, username=username, role=role, org_code=org, actor=actor, now=T0)
    assert (await _user(staffed, "lisi")).role == "viewer" and (await _user(staffed, "admin")).role == "admin"
    assert await _entries(staffed) == []
    # Within their subtree it works: 春熙路 is under 锦江.
    async with staffed.transaction() as s:
        await change_role(s, username="lisi", role="staff", actor=district_admin, now=T0)
    assert (await _user(staffed, "lisi")).role == "staff" and len(await _entries(staffed)) == 1


def test_the_cli_changes_a_role_and_records_it(huifang, db_url: str) -> None:  # noqa: F811
    import asyncio

    made = huifang(
        "users", "create", "zhangsan", "--org", "jinjiang", "--role", "staff", "--password-stdin", stdin=PASSWORD
    )
    assert made.exit_code == 0, made.output
    done = huifang("users", "set-role", "zhangsan", "--role", "viewer", "--org", "wuhou")
    assert done.exit_code == 0, done.output
    assert "staff @ jinjiang → viewer @ wuhou" in done.output
    assert "无变化 unchanged" in huifang("users", "set-role", "zhangsan", "--role", "viewer").output
    bad = huifang("users", "set-role", "zhangsan", "--org", "nowhere")
    assert bad.exit_code == 1 and "未知的机构" in bad.output

    async def entries() -> list[AuditEntry]:
        db = Database(db_url)
        try:
            return await _entries(db)
        finally:
            await db.dispose()

    [entry] = asyncio.run(entries())
    assert entry.actor == "cli" and entry.data["role_after"] == "viewer" and entry.data["organisation"] == "wuhou"
