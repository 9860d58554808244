"""员工账号 in a real browser, at a phone's width and a desktop's: an admin opens the page
from the navigation, creates an account through the form, finds it in the table, and
disables it; the page never scrolls sideways (the table may, inside its own box), and the
browser reports no error (CSP: no inline script or style). Screenshots in
test-artifacts/staff-accounts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser import WIDTHS, console_page, fits, huifang, huifang_env, log_in, screenshot, serving

PASSWORD = "红十字 回访 2026!"
NEW_PASSWORD = "新的密码 Spring 2026!"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("staff-accounts-browser")
    env = huifang_env(folder / "huifang.db")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    huifang(env, "orgs", "add", "chunxi", "春熙路街道红十字服务站", "--parent", "jinjiang")
    huifang(env, "users", "create", "wang", "--org", "chengdu", "--role", "admin", "--name", "王管理", "--password-stdin",
            stdin=PASSWORD)  # fmt: skip
    huifang(env, "users", "create", "zhangsan", "--org", "jinjiang", "--role", "staff", "--name", "张三",
            "--password-stdin", stdin=PASSWORD)  # fmt: skip
    with serving(env) as base:
        yield base


def _logs_in(base: str, username: str, password: str) -> bool:
    with httpx.Client(base_url=base) as c:
        form = c.get("/console/login").text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = c.post("/console/login", data={"username": username, "password": password, "csrf_token": token, "next": ""})
        return r.status_code == 303


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_create_an_account_and_disable_it(server: str, browser: Any, width: int, height: int) -> None:
    username = f"zhao{width}"
    with console_page(browser, width, height) as (page, errors):
        log_in(page, server, "wang", PASSWORD)
        page.get_by_role("link", name="员工账号").click()
        page.wait_for_url(f"{server}/console/users")
        assert page.locator("h1").inner_text().startswith("员工账号")
        assert page.locator("tr[data-username=zhangsan]").inner_text().count("正常") == 1
        fits(page, width)
        screenshot(page, "staff-accounts", f"{width}-1-list")

        page.fill("input[name=username]", username)
        page.fill("input[name=name]", "赵六")
        page.select_option("select[name=organisation]", "chunxi")
        page.select_option("select[name=role]", "viewer")
        page.fill("input[name=password]", NEW_PASSWORD)
        page.fill("input[name=password_again]", NEW_PASSWORD)
        page.locator("input[name=password_again]").scroll_into_view_if_needed()
        fits(page, width)
        screenshot(page, "staff-accounts", f"{width}-2-form")
        page.get_by_role("button", name="创建账号").click()
        page.wait_for_url(f"{server}/console/users?done=created*")
        assert NEW_PASSWORD not in page.url
        assert f"已创建账号：{username}" in page.locator(".notice").inner_text()
        row = page.locator(f"tr[data-username={username}]")
        assert "赵六" in row.inner_text() and "只读" in row.inner_text() and "正常" in row.inner_text()
        row.scroll_into_view_if_needed()
        fits(page, width)
        screenshot(page, "staff-accounts", f"{width}-3-created")
        assert _logs_in(server, username, NEW_PASSWORD)

        row.get_by_role("link", name=username).click()
        page.wait_for_url(f"{server}/console/users/{username}")
        assert page.locator("#account-status").inner_text().startswith("正常")
        fits(page, width)
        page.check("input[name=confirm]")
        page.get_by_role("button", name="停用").click()
        page.wait_for_url(f"{server}/console/users/{username}?done=disabled")
        assert page.locator("#account-status").inner_text().startswith("已停用")
        assert page.locator(".notice").inner_text().startswith("已停用账号")
        fits(page, width)
        screenshot(page, "staff-accounts", f"{width}-4-disabled")
        assert not _logs_in(server, username, NEW_PASSWORD)

        page.get_by_role("link", name="全部账号").click()
        page.wait_for_url(f"{server}/console/users")
        assert "已停用" in page.locator(f"tr[data-username={username}]").inner_text()
        assert errors == []


def test_staff_change_their_own_password_from_their_name_in_the_header(server: str, browser: Any) -> None:
    mine = "张三自己的新密码 2026"
    with console_page(browser, 390, 844) as (page, errors):
        log_in(page, server, "zhangsan", PASSWORD)
        page.get_by_role("link", name="张三").click()
        page.wait_for_url(f"{server}/console/account")
        assert page.locator("h1").inner_text().startswith("我的账号")
        page.fill("input[name=current]", PASSWORD)
        page.fill("input[name=password]", mine)
        page.fill("input[name=password_again]", mine)
        fits(page, 390)
        screenshot(page, "staff-accounts", "390-5-my-account")
        page.get_by_role("button", name="修改密码").click()
        page.wait_for_url(f"{server}/console/account?done=password")
        assert page.locator(".notice").inner_text().startswith("密码已修改")
        screenshot(page, "staff-accounts", "390-6-password-changed")
        assert _logs_in(server, "zhangsan", mine) and not _logs_in(server, "zhangsan", PASSWORD)
        assert errors == []
