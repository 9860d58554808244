"""/console/reports: the figures as the contract's report has them (percentages as the
article writes them), a chart per question, free texts with kind and ticket link, respondents'
words escaped, downloads by role, filters refused with the reason; ECharts served by huifang."""

from __future__ import annotations

import html
import json
import re

import httpx

from tests.admin.reports.conftest import FakeBuilder
from tests.admin.test_console_pages import log_in


async def test_the_report_page_shows_figures_charts_and_texts(client: httpx.AsyncClient, builder: FakeBuilder) -> None:
    await log_in(client, "zhangsan")
    r = await client.get("/console/reports")
    assert r.status_code == 200, r.text
    page = r.text
    assert "人道救助回访" in page and "您对红十字会的救助项目，总体评价怎么样？" in page
    # Shares as the article writes them: at most two decimals, no trailing zeros.
    assert "97.96%" in page and "45.56%" in page and ">0%<" in page
    assert "好或非常好" in page
    assert "多选题：比例按作答人数计算" in page
    # One chart per question with something to draw: bars, the NPS pie, the histogram.
    charts = [json.loads(html.unescape(c)) for c in re.findall(r'data-chart="([^"]*)"', page)]
    assert [c["type"] for c in charts] == ["bar", "bar", "pie", "histogram"]
    assert charts[0]["labels"] == ["非常好", "好", "一般", "不好"] and charts[0]["values"] == [60, 36, 2, 0]
    assert charts[2]["values"] == [6, 3, 1]
    # Free texts: kind, a link to the ticket, a respondent's markup shown as text.
    assert '<a href="/console/tickets/7">' in page and "投诉" in page and "建议" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Staff may take the raw answers; scripts only from /console/static (CSP).
    assert "/api/v1/reports/answers.xlsx" in page and "/api/v1/reports/figures.csv" in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert all(re.fullmatch(r'<script src="/console/static/[^"]+">', s) for s in scripts) and len(scripts) == 2
    assert builder.calls[-1]["scope"].count("/") == 3  # 锦江's subtree


async def test_filters_go_to_the_report_and_the_download_links(client: httpx.AsyncClient, builder: FakeBuilder) -> None:
    await log_in(client, "admin")
    r = await client.get(
        "/console/reports",
        params={"flow": "", "category": "humanitarian_aid", "org": "jinjiang", "campaign": "", "since": "2026-06-01",
                "until": "", "crosstab": "organisation"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    call = builder.calls[-1]
    assert (call["category"], call["org"], str(call["since"]), call["crosstab_by"], call["flow_id"]) == (
        "humanitarian_aid", "jinjiang", "2026-06-01", "organisation", None,
    )  # fmt: skip
    assert "/api/v1/reports/figures.xlsx?category=humanitarian_aid&amp;org=jinjiang&amp;since=2026-06-01" in r.text
    assert "交叉分析" in r.text and "武侯区红十字会" in r.text


async def test_a_viewer_reads_figures_but_is_offered_no_raw_answers(
    client: httpx.AsyncClient, builder: FakeBuilder
) -> None:
    await log_in(client, "lisi")
    r = await client.get("/console/reports")
    assert r.status_code == 200
    assert "/api/v1/reports/figures.xlsx" in r.text and "/api/v1/reports/answers" not in r.text


async def test_a_filter_outside_the_scope_shows_why_and_builds_nothing(
    client: httpx.AsyncClient, builder: FakeBuilder
) -> None:
    await log_in(client, "zhangsan")
    r = await client.get("/console/reports", params={"org": "wuhou"})
    assert r.status_code == 422
    assert "没有这个机构，或不在您的范围内" in r.text and "no such organisation in your scope" in r.text
    assert builder.calls == []
    r = await client.get("/console/reports", params={"until": "明天"})
    assert r.status_code == 422 and "结束日期应为 YYYY-MM-DD" in r.text


async def test_echarts_is_served_by_huifang(client: httpx.AsyncClient) -> None:
    await log_in(client, "lisi")
    page = (await client.get("/console/reports")).text
    src = re.search(r'src="(/console/static/vendor/echarts\.min\.js\?v=[0-9a-f]+)"', page)
    assert src is not None
    r = await client.get(src.group(1))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert b"Apache" in r.content[:400] and len(r.content) > 500_000
    assert (await client.get("/console/static/vendor/README.md")).status_code == 404
    assert (await client.get("/console/static/../pages.py")).status_code == 404
