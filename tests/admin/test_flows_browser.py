"""The flow editor in a real browser at a phone's width and a desktop's: type a broken line
and see the error at that line, fix it and see the diagram, talk to the draft in the
simulator pane, publish, publish again and read the diff. Nothing fetched from elsewhere, no
inline script. Screenshots in test-artifacts/flows/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from admin.flows.pages import NEW_FLOW
from tests.browser import WIDTHS, console_page, fits, huifang, huifang_env, screenshot, serving

PASSWORD = "红十字 回访 2026!"
BROKEN_LINE = 22  # NEW_FLOW's "goto: why"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("flows-browser") / "huifang.db"
    env = huifang_env(database, HUIFANG_IN_PROCESS_WORKER="false")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "users", "create", "wang", "--org", "chengdu", "--role", "admin", "--name", "王管理",
            "--password-stdin", stdin=PASSWORD)  # fmt: skip
    with serving(env) as base:
        yield base


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_edit_check_draw_simulate_publish_and_diff(server: str, browser: Any, width: int, height: int) -> None:
    with console_page(browser, width, height) as (page, errors):
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        flow_id = f"survey_{width}"
        good = NEW_FLOW.replace("id: my_survey", f"id: {flow_id}", 1).replace("code: my_survey", f"code: {flow_id}")
        lines = good.split("\n")
        assert lines[BROKEN_LINE - 1].strip() == "goto: why"
        lines[BROKEN_LINE - 1] = lines[BROKEN_LINE - 1].replace("why", "nowhere")
        broken = "\n".join(lines)
        page.goto(f"{server}/console/flows/new")
        page.fill("#username", "wang")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/console/flows/new")
        assert page.locator("script:not([src])").count() == 0

        page.fill("#flow-text", broken)
        page.wait_for_selector(f".gutter .ln.err >> text='{BROKEN_LINE}'")
        first_error = page.locator("#flow-errors li").first.inner_text()
        assert f"第 {BROKEN_LINE} 行" in first_error and "没有问题“nowhere”" in first_error, first_error
        assert page.locator("#publish-button").is_disabled()
        page.locator("#flow-errors button.jump").first.click()
        selected = page.evaluate("(() => { const t = document.getElementById('flow-text');"
                                 " return t.value.slice(t.selectionStart, t.selectionEnd); })()")  # fmt: skip
        assert selected.strip() == "goto: nowhere"
        page.locator("#flow-errors").scroll_into_view_if_needed()
        screenshot(page, "flows", f"{width}-1-error-at-line")
        fits(page, width, scrolls=".scroll, nav.sections, .code-editor")

        page.fill("#flow-text", good)
        page.wait_for_selector("#flow-status.good")
        page.wait_for_selector("#draft-diagram svg .node[data-state='why']")
        assert "您总体满意吗？" in page.locator("#draft-diagram svg").inner_html()
        assert not page.locator("#publish-button").is_disabled()
        page.locator("#draft-diagram").scroll_into_view_if_needed()
        screenshot(page, "flows", f"{width}-2-diagram")

        page.wait_for_selector("#sim-log .bubble.bot")
        assert "您愿意回答几个简短的问题吗？" in page.locator("#sim-log").inner_text()
        page.fill("#sim-text", "好的")
        page.press("#sim-text", "Enter")
        page.wait_for_selector("#sim-log button.choice >> text='2. 不满意'")
        page.locator("#sim-log button.choice >> text='2. 不满意'").click()
        page.wait_for_selector("#sim-log .bubble.bot >> text=哪里让您不满意？")
        page.fill("#sim-text", "活动组织得不好")
        page.press("#sim-text", "Enter")
        page.wait_for_selector("#sim-log .sim-note >> text=问卷完成 survey completed")
        page.locator("#sim-log").scroll_into_view_if_needed()
        screenshot(page, "flows", f"{width}-3-simulator")
        fits(page, width, scrolls=".scroll, nav.sections, .code-editor")

        page.fill("input[name=note]", "第一版")
        page.click("#publish-button")
        page.wait_for_url(f"**/console/flows/{flow_id}?published=1")
        assert "已发布第 1 版" in page.locator(".notice").inner_text()
        assert page.locator(".diagram svg .node[data-state='overall']").count() == 1
        screenshot(page, "flows", f"{width}-4-published")
        fits(page, width, scrolls=".scroll, nav.sections, .code-editor")

        page.goto(f"{server}/console/flows/{flow_id}/edit")
        page.wait_for_selector("#flow-status.good")
        page.fill("#flow-text", good.replace("您总体满意吗？", "这次活动您满意吗？"))
        page.wait_for_selector("#flow-status.good")
        page.click("#publish-button")
        page.wait_for_url(f"**/console/flows/{flow_id}?published=2")
        page.click(".diff-form button[type=submit]")
        page.wait_for_url(f"**/console/flows/{flow_id}/diff?from=1&to=2")
        assert "您总体满意吗？" in page.locator("pre.diff .del").inner_text()
        assert "这次活动您满意吗？" in page.locator("pre.diff .add").inner_text()
        screenshot(page, "flows", f"{width}-5-diff")
        fits(page, width, scrolls=".scroll, nav.sections, .code-editor")

        page.goto(f"{server}/console/flows")
        assert flow_id in page.locator("main").inner_text()
        screenshot(page, "flows", f"{width}-6-list")
        fits(page, width, scrolls=".scroll, nav.sections, .code-editor")
        assert not errors, errors
        assert not outside, f"fetched from elsewhere: {outside}"
