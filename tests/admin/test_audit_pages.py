"""/console/audit: the same visibility as the API, on a page, escaped."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.admin.test_audit_api import logged  # noqa: F401  (the fixture)
from tests.admin.test_console_pages import log_in

pytestmark = pytest.mark.usefixtures("logged")


async def page_of(app: FastAPI, username: str, query: str = "") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await log_in(c, username)).status_code == 303
        return await c.get(f"/console/audit{query}")


async def test_the_city_admin_sees_everything_escaped_in_shanghai_time(app: FastAPI) -> None:
    r = await page_of(app, "admin")
    assert r.status_code == 200
    html = r.text
    assert "审计日志" in html and "staff:whadmin" in html and "staff:jjadmin" in html and "respondent:12" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "2026-06-01 18:00:00" in html  # T0 + 1 h is 18:00 in Shanghai
    assert 'href="/console/audit"' in html  # in the navigation


async def test_a_district_admin_sees_only_their_district(app: FastAPI) -> None:
    html = (await page_of(app, "jjadmin")).text
    assert "staff:jjadmin" in html and "staff:lisi" in html
    assert "staff:whadmin" not in html and "武侯队列" not in html and "respondent:12" not in html
    html = (await page_of(app, "whadmin")).text
    assert "武侯队列" in html and "锦江队列" not in html


async def test_staff_and_viewers_get_the_403_page(app: FastAPI) -> None:
    for username in ("zhangsan", "lisi"):
        assert (await page_of(app, username)).status_code == 403


async def test_filters_as_a_get_form(app: FastAPI) -> None:
    html = (await page_of(app, "admin", "?action=queue_created&actor=&since=2026-06-01&until=2026-06-01")).text
    assert "锦江队列" in html and "武侯队列" in html and "共 2 条" in html
    assert "共 0 条" in (await page_of(app, "admin", "?action=queue_created&since=2026-06-02&until=")).text
    assert "共 0 条" in (await page_of(app, "admin", "?action=queue_created&until=2026-05-31")).text
    # A day a browser without a date picker mangled is ignored, not an error.
    assert "共 2 条" in (await page_of(app, "admin", "?action=queue_created&since=yesterday")).text
