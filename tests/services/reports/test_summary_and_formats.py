"""The written summary (every number traceable to the figures) and the report files, opened
back: JSON, Markdown, HTML, Word (python-docx), XLSX (openpyxl) and CSV."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from bot.services.report_exports import HEADERS, figure_rows
from bot.services.report_formats import flow_tables, to_html, to_json, to_markdown, write_report
from bot.services.report_summary import percent, summary_en, summary_zh
from bot.services.reports import build_report
from storage.repositories.organisations import Scope
from tests.services.reports.conftest import ReportWorld


async def whole(world: ReportWorld, **filters: Any) -> dict[str, Any]:
    async with world.db.transaction() as s:
        return await build_report(s, scope=Scope.everything(), **filters)


def numbers_in(value: Any) -> tuple[set[float], set[str]]:
    """Every number in the report, and every share as the summary writes it."""
    found: set[float] = set()
    shares: set[str] = set()

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            for k, item in v.items():
                walk(item, k)
        elif isinstance(v, list):
            for item in v:
                walk(item, key)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            found.add(float(v))
            if key == "share":
                shares.add(percent(v))

    walk(value)
    return found, shares


def untraceable(text: str, report: dict[str, Any]) -> list[str]:
    values, shares = numbers_in(report)
    missing = []
    for match in re.finditer(r"-?\d+(?:\.\d+)?%?", text):
        token = match.group()
        if token.endswith("%"):
            if token not in shares:
                missing.append(token)
        elif float(token) not in values:
            missing.append(token)
    return missing


async def test_the_summary_reads_like_the_article(world: ReportWorld) -> None:
    report = await whole(world)
    zh = summary_zh(report)
    assert len(zh) == 1 + len(report["flows"])  # the whole, then one paragraph per flow
    assert zh[0].startswith("本次共回访6人，其中5人答完全部问题（共邀请4人）。共收集意见和建议2条")
    aid = zh[1]
    assert aid.startswith("人道救助类。本次共回访人道救助对象5人，其中4人答完全部问题。")
    assert "对于人道救助项目的总体评价，60%的受访者评价为“好或非常好”，40%的受访者评价为“一般或不好”。" in aid
    # Multiple choice, most picked first; the shares add past 100% as in the article.
    assert ("对于款物以外希望获得的服务，100%的受访者选择“心理疏导”，66.67%的受访者选择“政策引导”，"
            "33.33%的受访者选择“关怀陪伴”。") in aid  # fmt: skip
    assert "净推荐值为0，其中推荐者1人，中立者0人，贬损者1人" in aid
    assert aid.endswith("共收集意见和建议2条；回访中开立工单3个，已解决2个，向上级组织反映1个。")
    en = summary_en(report)[1]
    assert en.startswith("Humanitarian aid. 5 people were followed up, 4 of whom answered every question.")
    assert "On the aid project overall, 60% answered “Good or very good”, 40% answered “Fair or poor”." in en


async def test_the_english_summary_says_one_in_the_singular(world: ReportWorld) -> None:
    # The donor flow: one person (D1), no opinions, no tickets.
    donor = summary_en(await whole(world, flow_id="donor"))[1]
    assert "1 person was followed up, 1 of whom answered every question." in donor
    assert donor.endswith("0 opinions were gathered; 0 tickets were opened during the surveys, 0 solved and 0 passed up "
                          "to a parent organisation.")  # fmt: skip
    # 武侯: S3 (a request for help, tickets T2 and T3, recommend 9) and S4.
    wuhou = summary_en(await whole(world, flow_id="aid", org="wuhou"))[1]
    assert "(1 promoter, 0 passives, 0 detractors)" in wuhou
    assert "1 opinion was gathered; 2 tickets were opened during the surveys" in wuhou


async def test_every_number_of_the_summary_is_a_figure(world: ReportWorld) -> None:
    for filters in ({}, {"org": "jinjiang"}, {"until": "2026-06-30"}, {"campaign_id": world.campaign}):
        if "until" in filters:
            filters = {"until": date(2026, 6, 30)}
        report = await whole(world, **filters)
        for paragraph in summary_zh(report) + summary_en(report):
            assert untraceable(paragraph, report) == [], paragraph
    # The check itself bites: a number that is no figure is found.
    assert untraceable("共回访12345人，99.99%的受访者", report) == ["12345", "99.99%"]


async def test_the_summary_is_deterministic(world: ReportWorld) -> None:
    first, second = await whole(world), await whole(world)
    first.pop("generated_at"), second.pop("generated_at")
    assert summary_zh(first) == summary_zh(second) and summary_en(first) == summary_en(second)


async def test_json_and_markdown(world: ReportWorld, tmp_path: Path) -> None:
    report = await whole(world)
    write_report(report, "json", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == report
    assert json.loads(to_json(report)) == report
    md = to_markdown(report)
    assert md.startswith("# 回访报告 Follow-up report\n")
    for paragraph in summary_zh(report) + summary_en(report):
        assert paragraph in md
    assert "| 比较好 | 2 | 40% |" in md
    assert "| 救助金发放太慢了 | 投诉 complaint | #" in md


async def test_word_document_opened_back(world: ReportWorld, tmp_path: Path) -> None:
    report = await whole(world, crosstab_by="category", question="overall")
    path = tmp_path / "报告.docx"
    write_report(report, "docx", path)
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "回访报告 Follow-up report"
    for paragraph in summary_zh(report) + summary_en(report):
        assert paragraph in texts
    expected = [t for f in report["flows"] for t in flow_tables(f)]
    got = [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]
    assert got[: len(expected)] == [[t.headers, *t.rows] for t in expected]
    assert got[-1][1] == ["人道救助", "1", "2", "1", "1", "5"]  # the cross-tab by category
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体"


async def test_print_ready_html(world: ReportWorld, tmp_path: Path) -> None:
    report = await whole(world)
    report["flows"][0]["questions"][4]["texts"][0]["text"] = "<script>alert(1)</script>"
    html = to_html(report, stylesheet="/console/static/report-print.css")
    assert '<link rel="stylesheet" href="/console/static/report-print.css">' in html
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for paragraph in summary_zh(report):
        assert f"<p>{paragraph}</p>" in html.replace("“", "“")
    written = write_report(report, "html", tmp_path / "r.html")
    assert [p.name for p in written] == ["r.html", "report-print.css"]
    assert "@media print" in (tmp_path / "report-print.css").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_figures_as_a_sheet(world: ReportWorld, tmp_path: Path, fmt: str) -> None:
    report = await whole(world)
    path = tmp_path / f"figures.{fmt}"
    write_report(report, fmt, path)
    if fmt == "xlsx":
        rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    else:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    assert rows[0] == HEADERS
    expected = list(figure_rows(report))
    assert len(rows) == 1 + len(expected)
    good = next(r for r in rows if r[2] == "overall" and r[5] == "option:good" and r[1] == "aid")
    assert [str(v) for v in good[6:10]] == ["比较好", "2", "0.4", "5"]


async def test_the_filters_line_names_what_a_reader_knows(world: ReportWorld) -> None:
    """A printed report for leadership says "流程 flow：<its title>", not "flow_id=6", and
    its time to the minute, not an ISO stamp."""
    from bot.services.report_formats import filters_line

    everything = await whole(world)
    flow = everything["flows"][0]
    line = filters_line(await whole(world, flow_id=flow["flow_id"], category=flow["category"]))
    assert f"流程 flow：{flow['title']}" in line and f"类别 category：{flow['category_label']}" in line, line
    assert "flow_id" not in line and "=" not in line
    assert re.search(r"生成 generated \d{4}-\d{2}-\d{2} \d{2}:\d{2}(?: |$)", line), line
