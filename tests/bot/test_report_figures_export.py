"""The figures of a report as XLSX and CSV, opened back (openpyxl, csv) and compared with
the report dict: every total, option count and share, group, NPS and number figure, the
free texts and the cross-tab; the CSV opens in Excel with its Chinese intact (BOM)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl

from bot.services.report_exports import FIGURE_HEADER, write_figures_csv, write_figures_xlsx
from tests.report_contract import contract_report


def _by_key(rows: list[list[Any]]) -> dict[tuple[str, str, str, str], list[Any]]:
    """Rows by (flow, question, item, code)."""
    return {(str(r[0]), str(r[2] or ""), str(r[5]), str(r[6])): r for r in rows}


def _check_figures(rows: list[list[Any]], report: dict[str, Any], *, number: Any) -> None:
    table = _by_key(rows)
    for key, value in report["totals"].items():
        if key != "tickets":
            assert number(table[("全部 all", "", "total", key)][8]) == value
    for key, value in report["totals"]["tickets"].items():
        assert number(table[("全部 all", "", "tickets", key)][8]) == value
    flow = report["flows"][0]
    title = flow["title"]
    assert number(table[(title, "", "total", "completed")][8]) == flow["completed"]
    for q in flow["questions"]:
        assert number(table[(title, q["id"], "answers", "answered")][8]) == q["answered"]
        assert table[(title, q["id"], "answers", "answered")][3] == q["text"]
        for o in q.get("options") or []:
            row = table[(title, q["id"], "option", o["code"])]
            assert (row[7], number(row[8]), float(row[9])) == (o["label"], o["count"], o["share"])
        for g in q.get("groups") or []:
            row = table[(title, q["id"], "group", "+".join(g["codes"]))]
            assert (row[7], number(row[8]), float(row[9])) == (g["label"], g["count"], g["share"])
    nps = flow["questions"][2]["nps"]
    assert float(table[(title, "recommend", "nps", "score")][10]) == nps["score"]
    assert number(table[(title, "recommend", "nps", "detractors")][8]) == nps["detractors"]
    numbers = flow["questions"][3]["numbers"]
    assert float(table[(title, "household", "number", "mean")][10]) == numbers["mean"]
    assert number(table[(title, "household", "distribution", "3")][8]) == 2
    assert number(table[("全部 all", "overall", "crosstab", "poor")][8]) == 1
    # Multiple choice: shares of respondents, adding past 100% as the report has them.
    multi = [float(r[9]) for k, r in table.items() if k[1] == "other_services" and k[2] == "option"]
    assert sum(multi) > 1


def test_figures_xlsx_holds_every_figure_of_the_report(tmp_path: Path) -> None:
    report = contract_report()
    path = tmp_path / "报表.xlsx"
    write_figures_xlsx(report, path)

    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["数据 figures", "意见 texts", "交叉 crosstab"]
    rows = [list(r) for r in book["数据 figures"].iter_rows(values_only=True)]
    assert rows[0] == FIGURE_HEADER
    _check_figures(rows[1:], report, number=int)

    texts = [list(r) for r in book["意见 texts"].iter_rows(values_only=True)][1:]
    expected = report["flows"][0]["questions"][4]["texts"]
    assert [(r[2], r[4], r[5]) for r in texts] == [(t["answer_id"], t["text"], t["ticket_id"]) for t in expected]
    assert texts[0][3] == "投诉 complaint"

    crosstab = [list(r) for r in book["交叉 crosstab"].iter_rows(values_only=True)]
    assert crosstab[0] == ["overall × organisation", "very_good", "good", "poor", "作答 answered"]
    assert crosstab[2] == ["武侯区红十字会", 0, 2, 1, 3]


def test_figures_csv_starts_with_a_bom_and_keeps_chinese(tmp_path: Path) -> None:
    report = contract_report()
    path = tmp_path / "报表.csv"
    write_figures_csv(report, path)

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel reads UTF-8 without a BOM as the local code page"
    assert "救助款" not in raw.decode("utf-8-sig")  # texts are not figures
    assert "好或非常好".encode() in raw
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == FIGURE_HEADER
    _check_figures(rows[1:], report, number=int)


def test_a_report_without_crosstab_or_texts_has_no_such_sheet(tmp_path: Path) -> None:
    report = contract_report()
    report["crosstab"] = None
    path = tmp_path / "r.xlsx"
    write_figures_xlsx(report, path)
    assert openpyxl.load_workbook(path, read_only=True).sheetnames == ["数据 figures", "意见 texts"]
