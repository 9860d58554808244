"""A campaign in a real browser, at a phone's width and a desktop's: an admin creates one
through the form, starts it, and watches its progress change without reloading (the worker
inside `huifang serve` puts the people without WeChat or Telegram on the call list; the
page's script polls the progress API). Screenshots in test-artifacts/campaigns/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import ROOT, WIDTHS, console_page, fits, huifang, huifang_env, log_in, screenshot, serving

PASSWORD = "红十字 回访 2026!"
PEOPLE = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("campaigns-browser")
    # Running campaigns are looked at every 5 s instead of every minute, and the worker looks
    # for due jobs every second: the progress changes within seconds of the start.
    env = huifang_env(folder / "huifang.db", HUIFANG_CAMPAIGN_TICK_EVERY_S="5", HUIFANG_SCHEDULER_POLL_S="1")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    huifang(env, "users", "create", "wang", "--org", "chengdu", "--role", "admin", "--name", "王管理", "--password-stdin",
            stdin=PASSWORD)  # fmt: skip
    huifang(env, "flows", "publish", str(ROOT / "flows" / "defaults"))
    people = Path(folder / "people.csv")
    people.write_text(
        "姓名,手机,类别\n" + "".join(f"受访者{i},1381234000{i},人道救助\n" for i in range(PEOPLE)), "utf-8"
    )
    huifang(env, "respondents", "import", str(people), "--org", "jinjiang", "--yes")
    with serving(env) as base:
        yield base


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_create_start_and_watch_the_progress(server: str, browser: Any, width: int, height: int) -> None:
    with console_page(browser, width, height) as (page, errors):
        log_in(page, server, "wang", PASSWORD)
        page.get_by_role("navigation", name="栏目 Sections").get_by_role("link", name="活动").click()
        page.wait_for_url(f"{server}/console/campaigns")
        fits(page, width)
        screenshot(page, "campaigns", f"{width}-1-list")

        page.fill("input[name=name]", f"锦江区回访 {width}")
        page.select_option("select[name=flow]", "humanitarian_aid")
        page.fill("input[name=organisations]", "jinjiang")
        page.fill("input[name=per_minute]", "10")
        page.fill("input[name=cooldown_days]", "0")
        page.locator("input[name=send_from]").scroll_into_view_if_needed()
        screenshot(page, "campaigns", f"{width}-2-form")
        page.get_by_role("button", name="创建").click()
        page.wait_for_url(f"{server}/console/campaigns/*")
        assert page.locator("#campaign-status").inner_text().startswith("草稿")
        page.get_by_role("button", name="开始").click()
        page.wait_for_load_state()
        assert page.locator("#campaign-status").inner_text().startswith("进行中")
        assert page.locator("[data-count=total]").inner_text() == str(PEOPLE)
        screenshot(page, "campaigns", f"{width}-3-started")

        # From here on nothing reloads the page: a marker set now must survive the update.
        page.evaluate("window.__stillHere = true")
        # The worker's tick comes within 5 s here (a minute by default); the page polls every 5 s.
        expect(page.locator("[data-count=unreachable]")).to_have_text(str(PEOPLE), timeout=60_000)
        assert page.evaluate("window.__stillHere") is True
        assert page.locator("[data-count=queued]").inner_text() == "0"
        assert "无微信/Telegram" in page.locator("#unreachable-reasons").inner_text()
        assert page.locator("#progress-updated").inner_text().startswith("更新于")
        fits(page, width)
        page.locator("#progress").scroll_into_view_if_needed()
        screenshot(page, "campaigns", f"{width}-4-progress")

        page.get_by_role("button", name="暂停").click()
        page.wait_for_load_state()
        assert page.locator("#campaign-status").inner_text().startswith("已暂停")
        assert errors == []
