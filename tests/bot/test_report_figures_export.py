"""The figures of a report as XLSX and CSV, opened back (openpyxl, csv) and compared with
the report dict: every total, option count and share, group, NPS and number figure, the
free texts and the cross-tab; the CSV opens in Excel with its Chinese intact (BOM)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl

from bot.services.report_exports import HEADERS, write_figures_csv, write_figures_xlsx
from tests.report_contract import contract_report


def _by_item(rows: list[list[Any]]) -> dict[tuple[str, str, str], list[Any]]:
    """Rows by (flow, question, item)."""
    return {(str(r[1]), str(r[2] or ""), str(r[5])): r for r in rows}


def _check_figures(rows: list[list[Any]], report: dict[str, Any], *, number: Any) -> None:
    table = _by_item(rows)
    everything = "全部 all"
    for key, value in report["totals"].items():
        if key != "tickets":
            assert number(table[(everything, "", key)][7]) == value
    for key, value in report["totals"]["tickets"].items():
        assert number(table[(everything, "", f"tickets:{key}")][7]) == value
    flow = report["flows"][0]
    code = str(flow["flow_id"])  # the contract's example has no flow code
    assert number(table[(code, "", "completed")][7]) == flow["completed"]
    assert table[(code, "", "completed")][0] == "humanitarian_aid"
    for q in flow["questions"]:
        assert number(table[(code, q["id"], "skipped")][7]) == q["skipped"]
        assert table[(code, q["id"], "skipped")][3] == q["text"]
        for o in q.get("options") or []:
            row = table[(code, q["id"], f"option:{o['code']}")]
            assert (row[6], number(row[7]), float(row[8]), number(row[9])) == (
                o["label"],
                o["count"],
                o["share"],
                q["answered"],
            )
        for g in q.get("groups") or []:
            row = table[(code, q["id"], "group:" + ",".join(g["codes"]))]
            assert (row[6], number(row[7]), float(row[8])) == (g["label"], g["count"], g["share"])
    nps = flow["questions"][2]["nps"]
    assert float(table[(code, "recommend", "nps:score")][7]) == nps["score"]
    assert number(table[(code, "recommend", "nps:detractors")][7]) == nps["detractors"]
    numbers = flow["questions"][3]["numbers"]
    assert float(table[(code, "household", "number:mean")][7]) == numbers["mean"]
    assert number(table[(code, "household", "value:3")][7]) == 2
    complaint = table[(code, "opinion", "text:11")]
    assert (complaint[6], complaint[10], number(complaint[11])) == ("救助款到现在还没收到", "投诉 complaint", 7)
    assert number(table[("交叉 crosstab", "overall", "crosstab:wuhou:poor")][7]) == 1
    # Multiple choice: shares of respondents, adding past 100% as the report has them.
    multi = [float(r[8]) for k, r in table.items() if k[1] == "other_services" and k[2].startswith("option:")]
    assert len(multi) == 4 and sum(multi) > 1


def test_figures_xlsx_holds_every_figure_of_the_report(tmp_path: Path) -> None:
    report = contract_report()
    path = tmp_path / "报表.xlsx"
    write_figures_xlsx(report, path)

    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["数据 figures", "意见 texts", "交叉 crosstab"]
    rows = [list(r) for r in book["数据 figures"].iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    _check_figures(rows[1:], report, number=int)

    texts = [list(r) for r in book["意见 texts"].iter_rows(values_only=True)][1:]
    expected = report["flows"][0]["questions"][4]["texts"]
    assert [(r[2], r[4], r[5]) for r in texts] == [(t["answer_id"], t["text"], t["ticket_id"]) for t in expected]
    assert texts[0][3] == "投诉 complaint"

    crosstab = [list(r) for r in book["交叉 crosstab"].iter_rows(values_only=True)]
    assert crosstab[0] == ["overall × organisation", "非常好", "好", "不好", "作答 answered"]
    assert crosstab[2] == ["武侯区红十字会", 0, 2, 1, 3]


def test_figures_csv_starts_with_a_bom_and_keeps_chinese(tmp_path: Path) -> None:
    report = contract_report()
    path = tmp_path / "报表.csv"
    write_figures_csv(report, path)

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel reads UTF-8 without a BOM as the local code page"
    assert "好或非常好".encode() in raw and "救助款到现在还没收到".encode() in raw
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADERS
    _check_figures(rows[1:], report, number=int)


def test_a_respondents_formula_stays_text(tmp_path: Path) -> None:
    report = contract_report()
    report["flows"][0]["questions"][4]["texts"][1]["text"] = '=HYPERLINK("http://x")'
    write_figures_csv(report, tmp_path / "r.csv")
    assert "'=HYPERLINK" in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    write_figures_xlsx(report, tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["意见 texts"]
    assert sheet["E3"].value == '=HYPERLINK("http://x")' and sheet["E3"].data_type == "s"


def test_a_report_without_crosstab_has_no_such_sheet(tmp_path: Path) -> None:
    report = contract_report()
    report["crosstab"] = None
    path = tmp_path / "r.xlsx"
    write_figures_xlsx(report, path)
    assert openpyxl.load_workbook(path, read_only=True).sheetnames == ["数据 figures", "意见 texts"]
