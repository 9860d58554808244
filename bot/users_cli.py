"""`huifang users create | list | disable | enable | reset-password`: staff accounts of the console.

Passwords are read from standard input (`--password-stdin`), never from an option, so they
stay out of the shell history and the process list:

    printf '%s\\n' "$PASSWORD" | huifang users create zhangsan --org jinjiang --role staff --name 张三 --password-stdin
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import click

from bot.cli_support import run_in_transaction
from storage.models.staff_user import ROLES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services.staff import StaffRead

T = TypeVar("T")
_STDIN_HELP = "Read the password from the first line of standard input (never an option: shell history)."


@click.group(help="员工账号 Staff accounts of the web console (/console).")
def users() -> None:
    pass


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        click.echo("未读到密码 no password on standard input (one line)", err=True)
        sys.exit(1)
    return password


def _run(work: Callable[[AsyncSession, datetime], Awaitable[T]], refused: str) -> T:
    """Runs `work(session, now)` in one transaction; a StaffError is one line and exit 1."""
    from bot.services.staff import StaffError

    return run_in_transaction(lambda c, s: work(s, c.clock()), refused=(StaffError,), prefix=f"{refused}: ")


@users.command(
    "create",
    help="新建账号 Create an account, e.g. "
    "users create zhangsan --org jinjiang --role staff --name 张三 --password-stdin",
)
@click.argument("username")
@click.option(
    "--org", "org_code", required=True,
    help="Code of the organisation the account belongs to (it sees that one and those below).",
)  # fmt: skip
@click.option(
    "--role", type=click.Choice(ROLES), default="staff", show_default=True,
    help="admin: everything; staff: handles tickets; viewer: reads only.",
)  # fmt: skip
@click.option("--name", default=None, help="显示姓名 Name shown in the console, e.g. 张三.")
@click.option("--password-stdin", is_flag=True, required=True, help=_STDIN_HELP)
def create(username: str, org_code: str, role: str, name: str | None, password_stdin: bool) -> None:
    from bot.services.staff import create_user

    password = _password_from_stdin()

    async def work(s: AsyncSession, now: datetime) -> str:
        user = await create_user(
            s, username=username, org_code=org_code, role=role, name=name, password=password, now=now
        )
        return user.username

    made = _run(work, "未创建 not created")
    click.echo(f"已创建 created {made} ({role}) @ {org_code}")


@users.command("list", help="列出账号 List accounts (of one organisation and those below it with --org).")
@click.option("--org", "org_code", default=None, help="Only this organisation and those under it.")
def list_(org_code: str | None) -> None:
    from bot.services.organisations import OrganisationError, scope_of
    from bot.services.staff import StaffError, list_users

    async def work(s: AsyncSession, now: datetime) -> list[StaffRead]:
        try:
            scope = (await scope_of(s, org_code))[1] if org_code else None
        except OrganisationError as exc:
            raise StaffError(str(exc)) from None
        return await list_users(s, scope=scope)

    rows = _run(work, "无法列出 cannot list")
    if not rows:
        click.echo("没有账号 no accounts")
        return
    now = datetime.now(UTC)
    for r in rows:
        locked = r.locked_until is not None and r.locked_until > now
        state = "已停用 disabled" if r.disabled else "已锁定 locked" if locked else "正常 active"
        last = r.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if r.last_login_at else "从未登录 never"
        name = f" {r.display_name}" if r.display_name else ""
        where = f"{r.organisation_code} {r.organisation_name}"
        click.echo(f"{r.username}{name}  {r.role}  {where}  {state}  上次登录 last login {last}")


@users.command(
    "set-role",
    help="变更角色或机构 Change an account's role and/or organisation, e.g. "
    "users set-role zhangsan --role admin --org jinjiang (recorded in the audit log).",
)
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default=None, help="The new role.")
@click.option("--org", "org_code", default=None, help="Code of the organisation to move the account to.")
def set_role(username: str, role: str | None, org_code: str | None) -> None:
    from bot.services.staff_roles import RoleChange, change_role

    async def work(s: AsyncSession, now: datetime) -> RoleChange:
        return await change_role(s, username=username, role=role, org_code=org_code, actor=None, now=now)

    done = _run(work, "未变更 not changed")
    if not done.changed:
        click.echo(f"无变化 unchanged: {done.username} ({done.role_after}) @ {done.organisation_after}")
        return
    click.echo(
        f"已变更 changed {done.username}: {done.role_before} @ {done.organisation_before} → "
        f"{done.role_after} @ {done.organisation_after}"
    )


@users.command("disable", help="停用账号 Disable an account: it can no longer log in, and its sessions end now.")
@click.argument("username")
def disable(username: str) -> None:
    from bot.services.staff import disable_user

    async def work(s: AsyncSession, now: datetime) -> str:
        return (await disable_user(s, username=username, now=now)).username

    click.echo(f"已停用 disabled {_run(work, '未停用 not disabled')}")


@users.command("enable", help="启用账号 Enable a disabled account: it may log in again with its password.")
@click.argument("username")
def enable(username: str) -> None:
    from bot.services.staff import enable_user

    async def work(s: AsyncSession, now: datetime) -> str:
        return (await enable_user(s, username=username, now=now)).username

    click.echo(f"已启用 enabled {_run(work, '未启用 not enabled')}")


@users.command("reset-password", help="重设密码 Set a new password (ends the account's sessions, lifts a lockout).")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help=_STDIN_HELP)
def reset(username: str, password_stdin: bool) -> None:
    from bot.services.staff import reset_password

    password = _password_from_stdin()

    async def work(s: AsyncSession, now: datetime) -> str:
        return (await reset_password(s, username=username, password=password, now=now)).username

    click.echo(f"已重设密码 password reset for {_run(work, '未重设 not reset')}")
