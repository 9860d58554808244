"""A real browser for tests: Debian's chromium through Playwright (its own browser downloads
are never used), and `huifang serve` on a free port to point it at.

A missing chromium fails with what to install; it is never skipped, or a page could break
unseen on a machine without it. Screenshots go under test-artifacts/ for a person to look
at (CJK glyphs, not boxes).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("HUIFANG_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"chromium is missing at {CHROMIUM}: install it with `apt-get install chromium "
            "fonts-noto-cjk` (.ci/run does), or point HUIFANG_TEST_CHROMIUM at one.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def huifang_env(database: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "PYTHONPATH": str(ROOT), **extra}


def huifang(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Runs a `huifang` command; its output, or the test fails with it."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"huifang {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """`huifang serve` on a free local port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "huifang serve did not come up within 60 s"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def screenshot(page: Any, folder: str, name: str) -> Path:
    path = ARTIFACTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=False)
    return path


WIDTHS = [(390, 844), (1280, 900)]  # a phone's, a desktop's; ids=["phone", "desktop"]
# What sticks out past the screen's right edge, to name in a failure (tables and code may
# scroll inside their own boxes; the sections' bar scrolls on a phone).
_WIDE = """([w, allowed]) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w && !e.closest(allowed))
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def fits(page: Any, width: int, *, scrolls: str = ".scroll, nav.sections") -> None:
    """The page is no wider than the screen; else the test fails naming what sticks out."""
    if page.evaluate("document.documentElement.scrollWidth") > width:
        pytest.fail(f"the page is wider than the screen: {page.evaluate(_WIDE, [width, scrolls])}")


@contextmanager
def console_page(browser: Any, width: int, height: int) -> Iterator[tuple[Any, list[str]]]:
    """A page of its own (zh-CN, this viewport) and the errors the browser reports on it:
    script errors and console errors, where a CSP refusal lands. Closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page, errors
    finally:
        context.close()


def log_in(page: Any, base: str, username: str, password: str) -> None:
    """Through the login form, as a person would; ends on the console's home page."""
    page.goto(f"{base}/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console")
