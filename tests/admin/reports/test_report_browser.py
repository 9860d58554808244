"""/console/reports in a real browser at a phone's width and a desktop's: charts drawn
(SVG with bars, the NPS pie), Chinese text, nothing wider than the screen, nothing fetched
from elsewhere, no CSP violation, a respondent's markup never run; and the print view
without the navigation. Screenshots in test-artifacts/reports/.

The server runs in this process (uvicorn in a thread) so that the report can be the
contract's example: `bot.services.reports.build_report` comes with another branch."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from admin.reports.source import report_builder
from bot.app import create_app
from tests.admin.conftest import settings_for
from tests.admin.reports.conftest import FakeBuilder
from tests.browser import ARTIFACTS, console_page, huifang, huifang_env, screenshot

PASSWORD = "红十字 回访 2026!"
WIDTHS = [(390, 844), (1280, 900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("reports-browser") / "huifang.db"
    env = huifang_env(database, HUIFANG_PUBLISH_DEFAULT_FLOWS="false", HUIFANG_IN_PROCESS_WORKER="false")
    huifang(env, "orgs", "add", "chengdu", "成都市红十字会")
    huifang(env, "orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu")
    huifang(env, "users", "create", "zhangsan", "--org", "jinjiang", "--role", "staff", "--name", "张三丰",
            "--password-stdin", stdin=PASSWORD)  # fmt: skip
    app = create_app(settings_for(f"sqlite+aiosqlite:///{database}", in_process_worker=False))
    app.dependency_overrides[report_builder] = FakeBuilder
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=15)


def _full(page: Any, name: str) -> Path:
    path = ARTIFACTS / "reports" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["phone", "desktop"])
def test_the_report_page_draws_its_charts(server: str, browser: Any, width: int, height: int) -> None:
    with console_page(browser, width, height) as (page, errors):
        page.on("dialog", lambda d: errors.append(f"a dialog: {d.message}"))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        page.goto(f"{server}/console/reports")
        page.fill("#username", "zhangsan")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/console/reports")
        page.wait_for_function("document.documentElement.classList.contains('charts-drawn')")
        charts = page.locator(".chart")
        assert charts.count() == 4
        for i in range(4):
            svg = charts.nth(i).locator("svg")
            assert svg.count() == 1, f"chart {i} has no SVG"
            box = svg.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
            assert svg.locator("path").count() >= 3, f"chart {i} drew nothing"
        # The option bars carry their labels and counts in Chinese.
        first = charts.nth(0).inner_text()
        assert "非常好" in first and "60（61.22%）" in first
        assert "推荐者" in charts.nth(2).inner_text()
        assert page.locator("text=<script>alert(1)</script>").count() == 1  # shown, not run
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the page is {overflow}px wide on a {width}px screen"
        screenshot(page, "reports", f"{width}-report-top")
        charts.nth(0).scroll_into_view_if_needed()
        screenshot(page, "reports", f"{width}-report-chart")
        _full(page, f"{width}-report-full")

        # The folded filters: a cross-tab by organisation of the overall rating.
        page.click("details.more summary")
        page.select_option("select[name=by]", "organisation")
        page.select_option("select[name=question]", "overall")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**by=organisation**")
        assert "question=overall" in page.url and page.locator("details.more").get_attribute("open") is not None
        page.wait_for_function("document.documentElement.classList.contains('charts-drawn')")
        assert "武侯区红十字会" in page.locator("table.grid").first.inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"the page is {overflow}px wide on a {width}px screen"

        page.emulate_media(media="print")
        assert not page.locator("nav.sections").is_visible() and not page.locator("form.filters").is_visible()
        assert page.locator(".chart svg").first.is_visible()
        _full(page, f"{width}-report-print")
        assert not errors, errors
        assert not outside, f"fetched from elsewhere: {outside}"
