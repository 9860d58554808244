"""The console in a real browser at a phone's width and a desktop's: log in through the
form, land on the home page in Chinese, nothing wider than the screen, nothing fetched from
elsewhere, log out. Screenshots in test-artifacts/console/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import huifang, huifang_env, screenshot, serving

PASSWORD = "红十字 回访 2026!"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = huifang_env(tmp_path_factory.mktemp("console-browser") / "huifang.db", HUIFANG_PUBLISH_DEFAULT_FLOWS="false")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    huifang(env, "orgs", "add", "wuhou", "武侯区红十字会", "--parent", "chengdu")
    huifang(env, "orgs", "add", "chunxi", "春熙路街道红十字服务站", "--parent", "jinjiang")
    huifang(env, "orgs", "add", "shuijingfang", "水井坊街道红十字服务站", "--parent", "jinjiang")
    huifang(env, "users", "create", "zhangsan", "--org", "jinjiang", "--role", "staff", "--name", "张三丰", "--password-stdin", stdin=PASSWORD)
    with serving(env) as base:
        yield base


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page is wider than the screen"


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_logging_in_through_the_form(server: str, browser: Any, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # CSP refusals land here; a failed login's 401 is the one error response expected.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 401 else None)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    try:
        page.goto(f"{server}/console")
        assert page.url.startswith(f"{server}/console/login")
        assert page.get_by_role("heading").inner_text().startswith("工作人员登录")
        assert page.evaluate("getComputedStyle(document.querySelector('.top')).backgroundColor") == "rgb(200, 16, 46)"
        _fits(page, width)
        screenshot(page, "console", f"{width}-1-login")

        page.fill("#username", "zhangsan")
        page.fill("#password", "wrong password")
        page.click("button[type=submit]")
        page.locator(".error").wait_for()
        assert "用户名或密码错误" in page.locator(".error").inner_text()
        assert page.input_value("#username") == "zhangsan"
        _fits(page, width)
        screenshot(page, "console", f"{width}-2-failed")

        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/console")
        assert "您好，张三丰" in page.get_by_role("heading", level=1).inner_text()
        assert page.locator(".who .org").inner_text() == "锦江区红十字会"
        names = page.locator(".tree .name").all_inner_texts()
        assert names == ["锦江区红十字会", "春熙路街道红十字服务站", "水井坊街道红十字服务站"]
        assert page.locator("nav.sections a").all_inner_texts()[0].startswith("首页")
        _fits(page, width)
        screenshot(page, "console", f"{width}-3-home")

        page.get_by_role("button", name="退出").click()
        page.wait_for_url(f"{server}/console/login")
        page.goto(f"{server}/console")
        assert page.url.startswith(f"{server}/console/login")
        assert not errors, errors
        assert not outside, f"fetched from elsewhere: {outside}"
    finally:
        context.close()
