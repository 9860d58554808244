"""The ticket pages in a real browser at a phone's width and a desktop's: log in, the list,
a ticket, take it, resolve it; nothing wider than the screen, nothing fetched from
elsewhere, no script run from a respondent's words. Screenshots in test-artifacts/console/."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.admin.tickets_world import XSS, add_colleagues, open_ticket, publish_flow
from tests.browser import WIDTHS, fits, huifang, huifang_env, screenshot, serving

PASSWORD = "红十字 回访 2026!"


def _seed(database: Path) -> None:
    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{database}")
        try:
            await add_colleagues(db)
            await publish_flow(db)
            await open_ticket(db, "chunxi", XSS, minutes_ago=60 * 30)
            for width, _ in WIDTHS:
                await open_ticket(
                    db, "jinjiang", f"救助款到现在还没收到，打电话也没人接（{width}）", with_survey=True, minutes_ago=90
                )
            await open_ticket(db, "wuhou", "武侯的工单 not for 锦江")
        finally:
            await db.dispose()

    # Its own thread and event loop: pytest-asyncio may own this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed()).result()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("tickets-browser") / "huifang.db"
    # No worker: its SLA sweep would escalate the overdue ticket, which the list should show.
    env = huifang_env(database, HUIFANG_PUBLISH_DEFAULT_FLOWS="false", HUIFANG_IN_PROCESS_WORKER="false")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    huifang(env, "orgs", "add", "wuhou", "武侯区红十字会", "--parent", "chengdu")
    huifang(env, "orgs", "add", "chunxi", "春熙路街道红十字服务站", "--parent", "jinjiang")
    for username, org, role, name in [("zhangsan", "jinjiang", "staff", "张三丰"), ("lisi", "chunxi", "viewer", "李四")]:
        huifang(env, "users", "create", username, "--org", org, "--role", role, "--name", name, "--password-stdin",
                stdin=PASSWORD)  # fmt: skip
    _seed(database)
    with serving(env) as base:
        yield base


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_take_a_ticket_and_resolve_it(server: str, browser: Any, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: errors.append(f"a dialog: {d.message}"))  # alert(1) must never run
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    words = f"救助款到现在还没收到，打电话也没人接（{width}）"
    try:
        page.goto(f"{server}/console/tickets")
        assert page.url.startswith(f"{server}/console/login")
        page.fill("#username", "zhangsan")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/console/tickets")
        assert page.get_by_role("heading", level=1).inner_text().startswith("工单")
        excerpts = page.locator(".tickets .excerpt").all_inner_texts()
        assert XSS in excerpts and words in excerpts and not any("武侯的工单" in e for e in excerpts)
        assert page.locator("script").count() == 0
        assert page.locator(".queues-now .overdue").count() >= 1  # the 30-hour-old ticket, in red
        overdue_colour = page.evaluate("getComputedStyle(document.querySelector('.badge.overdue')).backgroundColor")
        assert overdue_colour == "rgb(176, 0, 32)"
        screenshot(page, "console", f"{width}-tickets-1-list")
        fits(page, width)

        page.get_by_text(words).click()
        page.wait_for_url(f"{server}/console/tickets/*")
        assert page.locator(".words").inner_text() == words
        assert page.locator(".phone").inner_text() == "*******5678"
        assert page.locator(".answers .raised .raw").inner_text() == words
        screenshot(page, "console", f"{width}-tickets-2-ticket")
        fits(page, width)

        page.click("#take")
        page.wait_for_url("**done=assign")
        assert "已指派" in page.locator(".notice").inner_text()
        assert "张三丰" in page.locator(".facts").first.inner_text()
        screenshot(page, "console", f"{width}-tickets-3-taken")
        fits(page, width)

        page.fill("#resolution", "已联系受访者，救助款已补发 <b>到账</b>")
        page.click("#resolve")
        page.wait_for_url("**done=resolve")
        assert page.locator("h1 .badge").inner_text().startswith("已解决")
        assert "已联系受访者，救助款已补发 <b>到账</b>" in page.locator(".facts").first.inner_text()
        assert page.locator("#reopen").count() == 1 and page.locator("#resolve").count() == 0
        page.locator(".history").scroll_into_view_if_needed()
        screenshot(page, "console", f"{width}-tickets-4-resolved")
        fits(page, width)

        page.goto(f"{server}/console/queues")
        assert "锦江区红十字会" in page.locator("main").inner_text()
        screenshot(page, "console", f"{width}-tickets-5-queues")
        fits(page, width)
        assert not errors, errors
        assert not outside, f"fetched from elsewhere: {outside}"
    finally:
        context.close()
