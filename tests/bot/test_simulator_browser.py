"""The simulator page in a real browser (Debian's chromium through Playwright), at a phone's
width and a desktop's: nothing wider than the screen, the answer bar on screen, buttons that
answer with the option's words, multiple choice by tapping. Screenshots go to
test-artifacts/simulator/ for a person to look at (CJK glyphs, not boxes).

A missing chromium fails with what to install; it is never skipped, or the page could break
unseen on a machine without it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.browser import huifang_env, serving

ARTIFACTS = ALL_ARTIFACTS / "simulator"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`huifang serve` on the embedded default (a fresh SQLite file) on a free local port."""
    db = tmp_path_factory.mktemp("simulator-browser") / "huifang.db"
    with serving(huifang_env(db)) as base:
        yield base


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _fits(page, width: int, height: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    bar = page.locator("#text").bounding_box()
    assert bar is not None, "the answer input is not shown"
    assert 0 <= bar["y"] and bar["y"] + bar["height"] <= height, f"answer bar at {bar}, screen {width}×{height}"
    assert 0 <= bar["x"] and bar["x"] + bar["width"] <= width


def _wait_bot(page, n: int) -> None:
    # Locators, not wait_for_function: the page's CSP forbids the eval that would need.
    page.locator(".msg.bot").nth(n - 1).wait_for()


def _last_bot_bubble(page):
    return page.locator(".msg.bot").last


def _my_bubbles(page) -> list[str]:
    return [t.strip() for t in page.locator(".msg.me").all_inner_texts()]


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_simulator_in_a_browser(server: str, browser, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)  # a hang guard: waits end when the page is ready
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Everything comes from huifang itself: no CDN, no font service.
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    try:
        page.goto(f"{server}/simulator")
        page.locator("#category option").nth(8).wait_for(state="attached")
        _fits(page, width, height)
        _shot(page, f"{width}-1-start")

        page.select_option("#category", label="人道救助 · Humanitarian aid")
        page.click("#start")
        _wait_bot(page, 1)
        consent = _last_bot_bubble(page)
        consent.get_by_role("button", name="好的").click()

        # A single choice: the numbered list is not repeated in the text above the buttons.
        _wait_bot(page, 2)
        overall = _last_bot_bubble(page)
        labels = ["非常好", "好", "一般", "不好"]
        buttons = overall.locator(".choices button")
        assert buttons.locator(".label").all_inner_texts() == labels
        assert buttons.locator(".num").all_inner_texts() == ["1", "2", "3", "4"]  # "reply 1" still maps
        text = overall.locator(".text").inner_text()
        for i, label in enumerate(labels, 1):
            assert f"{i}. {label}" not in text, f"option {label} is shown twice: {text!r}"
        _fits(page, width, height)
        _shot(page, f"{width}-2-single-choice")

        overall.get_by_role("button", name="不好").click()
        _wait_bot(page, 3)
        assert _my_bubbles(page)[-1] == "不好"
        # "不好" asks what could be better (free text, optional): typing still works.
        page.fill("#text", "跳过")
        page.press("#text", "Enter")
        _wait_bot(page, 4)
        main_problem = _last_bot_bubble(page)
        main_problem.locator(".choices button").first.click()

        # Multiple choice: toggle buttons and a 提交 button; two chosen, accepted.
        _wait_bot(page, 5)
        several = _last_bot_bubble(page)
        toggles = several.locator(".choices button[aria-pressed]")
        assert toggles.count() >= 3, "a multiple-choice question has no buttons"
        first, third = toggles.nth(0), toggles.nth(2)
        first_label = first.locator(".label").inner_text()
        third_label = third.locator(".label").inner_text()
        first.click()
        third.click()
        assert first.get_attribute("aria-pressed") == "true" and third.get_attribute("aria-pressed") == "true"
        _fits(page, width, height)
        _shot(page, f"{width}-3-multiple-choice")
        several.get_by_role("button", name="提交").click()
        _wait_bot(page, 6)
        assert _my_bubbles(page)[-1] == f"{first_label}、{third_label}"
        after = _last_bot_bubble(page).inner_text()
        assert "没能确定" not in after and "抱歉" not in after, after  # accepted, not asked again
        _fits(page, width, height)
        _shot(page, f"{width}-4-after-multiple")

        assert errors == [], errors
        assert outside == [], outside
    finally:
        context.close()
