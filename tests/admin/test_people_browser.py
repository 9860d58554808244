"""Importing respondents and phoning them, in a real browser at a phone's width and a
desktop's: an admin uploads a GBK CSV from Excel, sees the preview (a wrong row named by
its number), confirms; a staff member finds an imported person on the call list and runs
the interview to its end. Screenshots in test-artifacts/people/."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.admin.tickets_world import publish_flow
from tests.browser import huifang, huifang_env, screenshot, serving

PASSWORD = "红十字 回访 2026!"
WIDTHS = [(390, 844), (1280, 900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("people-browser") / "huifang.db"
    env = huifang_env(database, HUIFANG_PUBLISH_DEFAULT_FLOWS="false", HUIFANG_IN_PROCESS_WORKER="false")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    for username, org, role, name in [
        ("admin", "chengdu", "admin", "王管理"),
        ("zhangsan", "jinjiang", "staff", "张三丰"),
    ]:
        huifang(env, "users", "create", username, "--org", org, "--role", role, "--name", name, "--password-stdin",
                stdin=PASSWORD)  # fmt: skip

    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{database}")
        try:
            await publish_flow(db)
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:  # its own event loop: pytest-asyncio may own this thread's
        pool.submit(asyncio.run, seed()).result()
    with serving(env) as base:
        yield base


def _fits(page: Any, width: int) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide}px wide on a {width}px screen"


def _watch(page: Any, server: str) -> list[str]:
    problems: list[str] = []
    page.set_default_timeout(15000)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith(server) else problems.append(f"elsewhere: {r.url}"))
    return problems


def _log_in(page: Any, server: str, path: str, username: str) -> None:
    page.goto(f"{server}{path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{path}")


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_import_then_phone_interview(server: str, browser: Any, tmp_path: Path, width: int, height: int) -> None:
    name = f"陈阿姨{width}"
    listing = tmp_path / "名单.csv"
    listing.write_bytes(
        (f"姓名,手机,类别,机构,标签\n{name},1381234{width:04d},人道救助,jinjiang,独居\n"
         f"刘大爷{width},12345,人道救助,jinjiang,\n").encode("gbk")
    )  # fmt: skip
    admin = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    staff = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    try:
        page = admin.new_page()
        problems = _watch(page, server)
        _log_in(page, server, "/console/respondents/import", "admin")
        page.set_input_files("input[name=file]", str(listing))
        page.select_option("select[name=organisation]", "jinjiang")
        screenshot(page, "people", f"{width}-import-1-upload")
        _fits(page, width)
        page.click("button.primary")
        page.wait_for_url("**/console/respondents/import/preview?**")
        assert page.locator("#count-new").inner_text() == "1" and page.locator("#count-errors").inner_text() == "1"
        assert "手机号无效" in page.locator("table.errors").inner_text()
        assert page.locator("table.errors td.num").inner_text() == "3"
        screenshot(page, "people", f"{width}-import-2-preview")
        _fits(page, width)
        page.check("input[name=skip_errors]")
        page.click("form[action$='/confirm'] button.primary")
        page.wait_for_selector("#done-created")
        assert page.locator("#done-created").inner_text() == "1"
        screenshot(page, "people", f"{width}-import-3-done")
        _fits(page, width)
        assert not problems, problems

        page = staff.new_page()
        problems = _watch(page, server)
        _log_in(page, server, "/console/calls", "zhangsan")
        entry = page.locator(".calls li", has_text=name)
        assert "*******" in entry.inner_text() and f"1381234{width:04d}" not in entry.inner_text()
        screenshot(page, "people", f"{width}-calls-1-list")
        _fits(page, width)
        entry.locator("a.button").click()
        page.wait_for_url("**/interview")
        page.click("#start")
        page.wait_for_selector(".choices button")
        assert "您愿意回答几个简短的问题吗" in page.locator(".say").inner_text()
        screenshot(page, "people", f"{width}-calls-2-consent")
        _fits(page, width)
        page.click(".choices button[value='1']")  # 愿意
        page.wait_for_selector("text=总体评价")
        screenshot(page, "people", f"{width}-calls-3-question")
        _fits(page, width)
        page.click(".choices button[value='3']")  # 一般
        page.wait_for_selector("text=哪里可以做得更好")
        page.fill("#answer-text", "等了很久才有人联系")
        page.click("#send")
        page.wait_for_selector(".choices button[value='2']")
        page.click(".choices button[value='2']")
        page.wait_for_selector("text=多选")
        page.fill("#answer-text", "1,3")
        page.click("#send")
        page.wait_for_selector("text=意见或建议")
        page.fill("#answer-text", "希望简化申请材料")
        page.click("#send")
        page.wait_for_selector("text=访谈已结束")
        assert "非常感谢您" in page.locator(".say").inner_text()
        screenshot(page, "people", f"{width}-calls-4-done")
        _fits(page, width)
        page.goto(f"{server}/console/calls")
        assert name not in page.locator("main").inner_text()
        assert not problems, problems
    finally:
        admin.close()
        staff.close()
