"""Staff accounts as an admin manages them in the console — 员工账号 — over the services the
`huifang users` CLI uses (bot.services.staff, bot.services.staff_roles).

The operator's CLI reaches every account; an admin in the console only the accounts of
their own organisation and those under it, and only organisations there. An account
outside that scope is answered exactly like one that does not exist (`AccountNotFound`,
same message), so an admin learns nothing about other districts' accounts. (Usernames are
unique across the service, so creating one that exists elsewhere is still refused as a
duplicate.) An admin cannot disable their own account, reset their own password here (that
would end their session without proving the old password), or change their own role.

Every change is audited by the services, the actor being "staff:<username>" of the admin.
Passwords go to the services only: never into the audit data, a log or a URL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.organisations import OrganisationRead, list_organisations, organisation_in_scope
from bot.services.staff import (
    StaffError,
    StaffPrincipal,
    StaffRead,
    create_user,
    disable_user,
    enable_user,
    list_users,
    normalise_username,
    reset_password,
)
from bot.services.staff_roles import RoleChange, change_role
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.staff import StaffRepository

__all__ = [
    "AccountNotFound",
    "account",
    "accounts",
    "change_account_role",
    "check_repeated",
    "create_account",
    "disable_account",
    "enable_account",
    "organisations_for",
    "reset_account_password",
]


class AccountNotFound(StaffError):
    """No such account, or one outside the admin's scope: the same answer for both."""


def _not_found(username: str) -> AccountNotFound:
    return AccountNotFound(f"没有这个用户 no such user: {normalise_username(username)[:64]}")


def _actor(me: StaffPrincipal) -> str:
    return f"staff:{me.username}"


def _admin(me: StaffPrincipal) -> None:
    # Routes refuse non-admins first (403); this keeps any other caller from slipping by.
    if not me.is_admin:
        raise StaffError("只有管理员可以管理员工账号 only admins manage staff accounts")


def check_repeated(password: str, again: str) -> None:
    """A password typed twice in a form: StaffError when the two differ."""
    if password != again:
        raise StaffError("两次输入的密码不一致 the two passwords differ")


async def accounts(s: AsyncSession, me: StaffPrincipal) -> list[StaffRead]:
    """The accounts in `me`'s scope, by organisation then username."""
    _admin(me)
    return await list_users(s, scope=me.scope)


async def account(s: AsyncSession, me: StaffPrincipal, username: str) -> StaffRead:
    """One account in `me`'s scope; AccountNotFound for any other, as for none."""
    _admin(me)
    user = await StaffRepository(s).by_username(normalise_username(username)[:64])
    organisation = await OrganisationRepository(s).get(user.organisation_id) if user is not None else None
    if user is None or organisation is None or not organisation.path.startswith(me.scope.path):
        raise _not_found(username)
    return StaffRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisation_code=organisation.code,
        organisation_name=organisation.name,
        disabled=user.disabled_at is not None,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
    )


async def organisations_for(s: AsyncSession, me: StaffPrincipal) -> list[OrganisationRead]:
    """The organisations an account may be given: `me`'s and those under it, as a tree."""
    _admin(me)
    return await list_organisations(s, scope=me.scope)


async def create_account(
    s: AsyncSession,
    me: StaffPrincipal,
    *,
    username: str,
    name: str | None,
    org_code: str,
    role: str,
    password: str,
    password_again: str,
    now: datetime,
) -> str:
    """A new account in `me`'s scope; its username. StaffError, nothing changed, if refused."""
    _admin(me)
    check_repeated(password, password_again)
    if await organisation_in_scope(s, org_code.strip(), me.scope) is None:
        raise StaffError(f"未知的机构或不在您的管理范围 unknown organisation, or outside your scope: {org_code}")
    user = await create_user(
        s, username=username, org_code=org_code.strip(), role=role, name=name, password=password, now=now,
        actor=_actor(me),
    )  # fmt: skip
    return user.username


async def disable_account(s: AsyncSession, me: StaffPrincipal, *, username: str, now: datetime) -> str:
    """The account can no longer log in; its sessions end now."""
    found = await account(s, me, username)
    if found.id == me.id:
        raise StaffError("不能停用自己的账号 you cannot disable your own account")
    return (await disable_user(s, username=found.username, now=now, actor=_actor(me))).username


async def enable_account(s: AsyncSession, me: StaffPrincipal, *, username: str, now: datetime) -> str:
    """A disabled account in `me`'s scope may log in again."""
    found = await account(s, me, username)
    return (await enable_user(s, username=found.username, now=now, actor=_actor(me))).username


async def reset_account_password(
    s: AsyncSession, me: StaffPrincipal, *, username: str, password: str, password_again: str, now: datetime
) -> str:
    """A new password; the account's sessions end and a lockout is lifted."""
    found = await account(s, me, username)
    if found.id == me.id:
        raise StaffError(
            "不能在此重设自己的密码，请另一位管理员重设 you cannot reset your own password here: ask another admin"
        )
    check_repeated(password, password_again)
    done = await reset_password(s, username=found.username, password=password, now=now, actor=_actor(me))
    return done.username


async def change_account_role(
    s: AsyncSession, me: StaffPrincipal, *, username: str, role: str | None, org_code: str | None, now: datetime
) -> RoleChange:
    """A new role and/or organisation (bot.services.staff_roles.change_role, which audits)."""
    found = await account(s, me, username)
    return await change_role(s, username=found.username, role=role, org_code=org_code, actor=me, now=now)
