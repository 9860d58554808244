"""/console/reports: the figures as the contract's report has them (percentages as the
article writes them), a chart per question, free texts with kind and ticket link, respondents'
words escaped, downloads by role, filters refused with the reason; ECharts served by huifang."""

from __future__ import annotations

import html
import json
import re

import httpx

from storage.db import Database
from tests.admin.reports.conftest import FakeBuilder
from tests.admin.test_console_pages import log_in
from tests.admin.tickets_world import publish_flow


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
        params={"flow_id": "", "category": "humanitarian_aid", "org": "jinjiang", "campaign_id": "",
                "since": "2026-06-01", "until": "", "by": "organisation", "question": "overall"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    call = builder.calls[-1]
    assert (call["category"], call["org"], str(call["since"]), call["crosstab_by"], call["question"], call["flow_id"]) == (
        "humanitarian_aid", "jinjiang", "2026-06-01", "organisation", "overall", None,
    )  # fmt: skip
    # The download links carry the same filters, under the names GET /api/v1/reports takes.
    assert (
        "/api/v1/reports/figures.xlsx?category=humanitarian_aid&amp;org=jinjiang&amp;since=2026-06-01"
        "&amp;by=organisation&amp;question=overall"
    ) in r.text
    # The cross-tab question is offered from the report's questions with options.
    assert '<option value="overall" selected>' in r.text and '<option value="opinion"' not in r.text
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


async def test_the_filters_offer_the_flows_and_organisations_in_scope(
    client: httpx.AsyncClient, staffed: Database, builder: FakeBuilder
) -> None:
    await publish_flow(staffed)
    await log_in(client, "zhangsan")  # 锦江: itself and 春熙路, not 武侯
    page = (await client.get("/console/reports")).text
    flow = re.search(r'<select name="flow_id">(.*?)</select>', page, re.S)
    assert flow is not None and re.search(r'<option value="\d+">人道救助回访</option>', flow.group(1))
    category = re.search(r'<select name="category">(.*?)</select>', page, re.S)
    assert category is not None and '<option value="humanitarian_aid">人道救助回访</option>' in category.group(1)
    org = re.search(r'<select name="org">(.*?)</select>', page, re.S)
    assert org is not None
    assert "锦江区红十字会" in org.group(1) and "春熙路" in org.group(1) and "武侯" not in org.group(1)
