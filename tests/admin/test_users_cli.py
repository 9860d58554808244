"""`huifang users create | list | disable | reset-password`, passwords on standard input."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.services.staff import authenticate
from storage.db import Database
from tests.admin.conftest import PASSWORD, T0


@pytest.fixture
def huifang(db_url: str):
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_AUTO_MIGRATE": "false", "HUIFANG_PUBLISH_DEFAULT_FLOWS": "false"}

    def run(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)

    assert run("orgs", "add", "chengdu", "成都市红十字会").exit_code == 0
    assert run("orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu").exit_code == 0
    assert run("orgs", "add", "wuhou", "武侯区红十字会", "--parent", "chengdu").exit_code == 0
    return run


def can_log_in(db_url: str, username: str, password: str) -> bool:
    async def attempt() -> bool:
        db = Database(db_url)
        try:
            async with db.transaction() as s:
                return await authenticate(s, username=username, password=password, now=T0) is not None
        finally:
            await db.dispose()

    return asyncio.run(attempt())


def test_create_list_disable_and_reset(huifang, db_url: str) -> None:
    made = huifang("users", "create", "zhangsan", "--org", "jinjiang", "--role", "staff", "--name", "张三", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "已创建 created zhangsan (staff) @ jinjiang" in made.output and PASSWORD not in made.output
    assert huifang("users", "create", "wangwu", "--org", "wuhou", "--role", "viewer", "--password-stdin", stdin=PASSWORD).exit_code == 0
    assert can_log_in(db_url, "zhangsan", PASSWORD)

    listed = huifang("users", "list").output.splitlines()
    assert listed[0].startswith("zhangsan 张三  staff  jinjiang 锦江区红十字会  正常 active  上次登录 last login 20")
    assert listed[1].startswith("wangwu  viewer  wuhou 武侯区红十字会  正常 active  上次登录 last login 从未登录 never")
    assert [line.split()[0] for line in huifang("users", "list", "--org", "wuhou").output.splitlines()] == ["wangwu"]

    reset = huifang("users", "reset-password", "zhangsan", "--password-stdin", stdin="新的足够长的密码 2026\n")
    assert reset.exit_code == 0 and "已重设密码 password reset for zhangsan" in reset.output
    assert not can_log_in(db_url, "zhangsan", PASSWORD) and can_log_in(db_url, "zhangsan", "新的足够长的密码 2026")

    assert huifang("users", "disable", "zhangsan").output.strip() == "已停用 disabled zhangsan"
    assert "已停用 disabled" in huifang("users", "list", "--org", "jinjiang").output
    assert not can_log_in(db_url, "zhangsan", "新的足够长的密码 2026")

    assert huifang("users", "enable", "zhangsan").output.strip() == "已启用 enabled zhangsan"
    assert "正常 active" in huifang("users", "list", "--org", "jinjiang").output
    assert can_log_in(db_url, "zhangsan", "新的足够长的密码 2026")


@pytest.mark.parametrize(
    ("args", "stdin", "line"),
    [
        (["create", "zhangsan", "--org", "nowhere"], PASSWORD, "未创建 not created: 未知的机构 unknown organisation: nowhere"),
        (["create", "zhangsan", "--org", "jinjiang"], "short\n", "未创建 not created: 密码至少 10 个字符 a password needs at least 10 characters"),
        (["create", "zhangsan", "--org", "jinjiang"], "zhangsan\n", "未创建 not created: 密码至少 10 个字符"),
        (["create", "zhangsan", "--org", "jinjiang"], "", "未读到密码 no password on standard input"),
        (["reset-password", "nobody"], PASSWORD, "未重设 not reset: 没有这个用户 no such user: nobody"),
        (["list", "--org", "nowhere"], None, "无法列出 cannot list: 未知的机构 unknown organisation: nowhere"),
        (["disable", "nobody"], None, "未停用 not disabled: 没有这个用户 no such user: nobody"),
        (["enable", "nobody"], None, "未启用 not enabled: 没有这个用户 no such user: nobody"),
    ],
)
def test_mistakes_exit_1_with_one_clear_line(huifang, args: list[str], stdin: str | None, line: str) -> None:
    if args[0] in ("create", "reset-password"):
        args = [*args, "--password-stdin"]
    result = huifang("users", *args, stdin=stdin)
    assert result.exit_code == 1 and line in result.output and "Traceback" not in result.output


def test_an_existing_username_is_refused(huifang) -> None:
    args = ("users", "create", "zhangsan", "--org", "jinjiang", "--password-stdin")
    assert huifang(*args, stdin=PASSWORD).exit_code == 0
    again = huifang(*args, stdin=PASSWORD)
    assert again.exit_code == 1 and "用户名已存在 username already exists: zhangsan" in again.output


def test_the_password_is_never_an_option(huifang) -> None:
    result = huifang("users", "create", "zhangsan", "--org", "jinjiang", "--password", PASSWORD)
    assert result.exit_code == 2 and "No such option" in result.output
