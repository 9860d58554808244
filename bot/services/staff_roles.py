"""Changing a staff account's role or organisation — 变更角色或机构 — audited in the same
transaction as the change.

The operator (`huifang users set-role`, no principal) may change any account; an admin
acting in the console or API (a `StaffPrincipal`) only accounts in their own scope, only
to an organisation in it, and never their own (an admin cannot lock themselves out, nor
widen their own reach). A change applies at the account's next request: sessions resolve
the role from the account row each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import record_admin_action
from bot.services.staff import StaffError, StaffPrincipal, check_role, normalise_username
from storage.repositories.audit import AuditRepository
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.staff import StaffRepository

ACTION = "staff_role_changed"


@dataclass(frozen=True, slots=True)
class RoleChange:
    username: str
    role_before: str
    role_after: str
    organisation_before: str
    organisation_after: str

    @property
    def changed(self) -> bool:
        return (self.role_before, self.organisation_before) != (self.role_after, self.organisation_after)


async def change_role(
    s: AsyncSession,
    *,
    username: str,
    role: str | None = None,
    org_code: str | None = None,
    actor: StaffPrincipal | None,
    now: datetime,
) -> RoleChange:
    """Give `username` `role` and/or move them to `org_code`; StaffError (nothing changed)
    when refused. No change at all is not recorded."""
    if role is None and org_code is None:
        raise StaffError("没有要修改的内容 nothing to change: give a role or an organisation")
    if actor is not None and not actor.is_admin:
        raise StaffError("只有管理员可以变更角色 only admins change roles")
    scope = actor.scope if actor is not None else Scope.everything()
    orgs = OrganisationRepository(s)
    user = await StaffRepository(s).by_username(normalise_username(username)[:64])
    current = await orgs.get(user.organisation_id) if user is not None else None
    if user is None or current is None or not current.path.startswith(scope.path):
        # The same answer for an account outside the scope as for none: nothing leaks.
        raise StaffError(f"没有这个用户 no such user: {username}")
    if actor is not None and actor.id == user.id:
        raise StaffError("不能变更自己的角色或机构 you cannot change your own role or organisation")
    target = current
    if org_code is not None:
        found = await orgs.by_code(org_code)
        if found is None or not found.path.startswith(scope.path):
            raise StaffError(f"未知的机构或不在您的管理范围 unknown organisation, or outside your scope: {org_code}")
        target = found
    new_role = check_role(role) if role is not None else user.role
    change = RoleChange(user.username, user.role, new_role, current.code, target.code)
    if not change.changed:
        return change
    await StaffRepository(s).set_role(user, role=new_role, organisation_id=target.id, at=now)
    data = {
        # The account's (new) organisation owns the entry: its admins and those above see it.
        "organisation": target.code,
        "username": user.username,
        "role_before": change.role_before,
        "role_after": change.role_after,
        "organisation_before": change.organisation_before,
        "organisation_after": change.organisation_after,
    }
    if actor is not None:
        await record_admin_action(
            s, actor=actor, action=ACTION, subject_type="staff_user", subject_id=user.id, data=data, now=now
        )
    else:
        await AuditRepository(s).record(
            actor="cli", action=ACTION, subject_type="staff_user", subject_id=str(user.id), data=data, at=now
        )
    return change
