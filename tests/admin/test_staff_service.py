"""Staff accounts through bot.services.staff: rules, logging in, lockout, sessions, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import bot.services.staff as staff
from bot.services.staff import (
    StaffError,
    StaffPolicy,
    authenticate,
    create_user,
    disable_user,
    end_session,
    list_users,
    reset_password,
    resolve_session,
    start_session,
)
from storage.db import Database
from storage.models import AuditEntry, StaffUser
from storage.repositories.organisations import OrganisationRepository, Scope
from tests.admin.conftest import PASSWORD, T0, make_tree

POLICY = StaffPolicy()  # 5 failures, then 1 min doubling to 1 h


async def login(db: Database, username: str, password: str, at=T0, policy: StaffPolicy = POLICY) -> StaffUser | None:
    async with db.transaction() as s:
        return await authenticate(s, username=username, password=password, now=at, policy=policy, client="127.0.0.1")


async def audit(db: Database, action: str | None = None) -> list[AuditEntry]:
    async with db.transaction() as s:
        rows = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    return [r for r in rows if action is None or r.action == action]


async def test_accounts_are_created_listed_by_scope_disabled_and_reset(staffed: Database) -> None:
    async with staffed.transaction() as s:
        everyone = await list_users(s)
        assert [(u.username, u.role, u.organisation_code) for u in everyone] == [
            ("admin", "admin", "chengdu"),
            ("zhangsan", "staff", "jinjiang"),
            ("lisi", "viewer", "chunxi"),
        ]
        jinjiang = await OrganisationRepository(s).by_code("jinjiang")
        assert jinjiang is not None
        assert [u.username for u in await list_users(s, scope=Scope.of(jinjiang))] == ["zhangsan", "lisi"]
        user = await s.scalar(select(StaffUser).where(StaffUser.username == "zhangsan"))
        assert user is not None and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert user.display_name == "张三"

    async with staffed.transaction() as s:
        await disable_user(s, username="ZhangSan", now=T0)  # usernames are case-insensitive
    assert await login(staffed, "zhangsan", PASSWORD) is None
    async with staffed.transaction() as s:
        assert [u.disabled for u in await list_users(s)] == [False, True, False]

    async with staffed.transaction() as s:
        await reset_password(s, username="lisi", password="另一个够长的密码 new", now=T0)
    assert await login(staffed, "lisi", PASSWORD) is None
    assert (await login(staffed, "lisi", "另一个够长的密码 new")) is not None
    actions = [e.action for e in await audit(staffed) if e.action.startswith(("staff_", "password_"))]
    assert actions == ["staff_created"] * 3 + ["staff_disabled", "password_reset"]


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("wangwu", "short", "至少 10 个字符 a password needs at least 10 characters"),
        ("wangwu12345", "WANGWU12345", "不能与用户名相同 the password must not be the username"),
        ("wangwu", "1234567890", "太容易猜到 the password is too easy to guess"),
        ("wangwu", "aaaaaaaaaaaa", "太容易猜到"),
        ("wangwu", "x" * 300, "最多 256 个字符"),
        ("王五", PASSWORD, "a username is 2–64 of a-z 0-9"),
        ("a", PASSWORD, "a username is 2–64"),
        ("zhangsan", PASSWORD, "用户名已存在 username already exists: zhangsan"),
    ],
)
async def test_bad_accounts_are_refused_with_a_reason_in_both_languages(
    staffed: Database, username: str, password: str, message: str
) -> None:
    async with staffed.transaction() as s:
        with pytest.raises(StaffError, match=message):
            await create_user(s, username=username, org_code="jinjiang", role="staff", password=password, now=T0)


async def test_unknown_organisation_and_role_are_refused(db: Database) -> None:
    await make_tree(db)
    async with db.transaction() as s:
        with pytest.raises(StaffError, match="未知的机构 unknown organisation: nowhere"):
            await create_user(s, username="wangwu", org_code="nowhere", role="staff", password=PASSWORD, now=T0)
        with pytest.raises(StaffError, match="未知角色 unknown role 'boss'"):
            await create_user(s, username="wangwu", org_code="chengdu", role="boss", password=PASSWORD, now=T0)
        with pytest.raises(StaffError, match="没有这个用户 no such user: nobody"):
            await reset_password(s, username="nobody", password=PASSWORD, now=T0)


async def test_an_unknown_user_fails_exactly_like_a_wrong_password_and_costs_a_hash(
    staffed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real = staff._verify

    async def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real(password_hash, password)

    monkeypatch.setattr(staff, "_verify", counting)
    assert await login(staffed, "nobody", PASSWORD) is None
    assert await login(staffed, "zhangsan", "wrong password!") is None
    # Both verified one argon2 hash: the unknown name against the dummy one.
    assert len(verified) == 2 and verified[0] == staff._dummy_hash() and verified[0].startswith("$argon2id$")
    failed = await audit(staffed, "login_failed")
    assert [(e.actor, e.data["reason"], e.data["username"]) for e in failed] == [
        ("anonymous", "unknown_user", "nobody"),
        ("anonymous", "wrong_password", "zhangsan"),
    ]
    assert failed[0].subject_id is None and failed[1].data["client"] == "127.0.0.1"
    for entry in await audit(staffed):
        assert PASSWORD not in str(entry.data) and "wrong password!" not in str(entry.data)


async def test_repeated_failures_lock_with_a_doubling_backoff_on_an_injected_clock(staffed: Database) -> None:
    at = T0
    for _ in range(4):
        assert await login(staffed, "zhangsan", "not the password", at) is None
    assert await login(staffed, "zhangsan", PASSWORD, at) is not None  # a success resets the count
    for _ in range(5):
        assert await login(staffed, "zhangsan", "not the password", at) is None
    # Locked for a minute: even the right password fails, with the same answer, uncounted.
    assert await login(staffed, "zhangsan", PASSWORD, at + timedelta(seconds=59)) is None
    locked = await audit(staffed, "locked")
    assert [e.data["until"] for e in locked] == [(at + timedelta(minutes=1)).isoformat()]
    # After the minute a wrong password locks again at once, for twice as long.
    at += timedelta(minutes=1)
    assert await login(staffed, "zhangsan", "not the password", at) is None
    assert await login(staffed, "zhangsan", PASSWORD, at + timedelta(minutes=1, seconds=59)) is None
    user = await login(staffed, "zhangsan", PASSWORD, at + timedelta(minutes=2))
    assert user is not None and user.failed_logins == 0 and user.locked_until is None
    reasons = [e.data["reason"] for e in await audit(staffed, "login_failed")]
    assert reasons.count("locked") == 2
    assert [e.action for e in await audit(staffed, "login_succeeded")] == ["login_succeeded"] * 2


def test_the_backoff_doubles_up_to_the_maximum() -> None:
    policy = StaffPolicy(lockout_after=3, lockout_first=timedelta(minutes=1), lockout_max=timedelta(hours=1))
    assert [policy.lock_for(n) for n in (1, 2)] == [None, None]
    assert [policy.lock_for(n).total_seconds() / 60 for n in (3, 4, 5, 8, 9, 100)] == [1, 2, 4, 32, 60, 60]


async def test_sessions_resolve_slide_expire_and_end(staffed: Database) -> None:
    policy = StaffPolicy(cookie_idle=timedelta(hours=12), cookie_max=timedelta(hours=20), bearer_ttl=timedelta(days=30))
    user = await login(staffed, "zhangsan", PASSWORD)
    assert user is not None
    async with staffed.transaction() as s:
        cookie = await start_session(s, user, kind="cookie", now=T0, policy=policy)
        bearer = await start_session(s, user, kind="bearer", now=T0, policy=policy)
    assert cookie.principal.csrf_token and bearer.principal.csrf_token is None
    assert bearer.expires_at == T0 + timedelta(days=30)

    async def who(token: str, hours: float):
        async with staffed.transaction() as s:
            return await resolve_session(s, token, now=T0 + timedelta(hours=hours), policy=policy)

    me = await who(cookie.token, 11)
    assert me is not None and me.username == "zhangsan" and me.organisation_code == "jinjiang"
    assert me.can_handle and not me.is_admin and me.can_view
    assert me.scope == Scope(me.organisation_path)
    assert await who(cookie.token, 22) is None  # past the maximum, however active
    assert (await who(cookie.token, 19)) is not None  # used at 11 h: idle until 20 h (the cap)
    assert await who(bearer.token, 24 * 29) is not None
    assert await who(bearer.token, 24 * 30) is None
    assert await who("not-a-token", 1) is None
    assert await who(cookie.token.upper(), 1) is None

    async with staffed.transaction() as s:
        await end_session(s, cookie.principal, now=T0)
    assert await who(cookie.token, 1) is None and await who(bearer.token, 1) is not None
    async with staffed.transaction() as s:
        await reset_password(s, username="zhangsan", password="全新的密码 brand new", now=T0)
    assert await who(bearer.token, 1) is None  # a new password ends every session


async def test_a_disabled_accounts_sessions_are_refused(staffed: Database) -> None:
    user = await login(staffed, "lisi", PASSWORD)
    assert user is not None
    async with staffed.transaction() as s:
        made = await start_session(s, user, kind="bearer", now=T0)
        me = await resolve_session(s, made.token, now=T0)
        assert me is not None and me.role == "viewer" and not me.can_handle and me.can_view
        await disable_user(s, username="lisi", now=T0)
    async with staffed.transaction() as s:
        assert await resolve_session(s, made.token, now=T0) is None


async def test_a_login_rehashes_a_password_stored_with_older_parameters(
    staffed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(staff, "_hasher", PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1))
    user = await login(staffed, "zhangsan", PASSWORD)
    assert user is not None and ",t=2," in user.password_hash
    assert await login(staffed, "zhangsan", PASSWORD) is not None
