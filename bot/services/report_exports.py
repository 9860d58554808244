"""A report's figures as XLSX or CSV: one row per option, group, number or text of every
question, under its flow. Written row by row (openpyxl's write-only workbook, the csv
module), so the figures are never held twice.

A plain version for `huifang report --format xlsx|csv`; the exports feature (raw answers,
streamed at scale) builds on the same two functions.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HEADERS = ["类别 category", "流程 flow", "问题 question", "题目 text", "类型 type", "项目 item", "名称 label",
           "人数 count", "比例 share", "作答 answered", "意见类别 kind", "工单 ticket"]  # fmt: skip


def figure_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    for f in report["flows"]:
        base = [f["category"], f["code"]]
        for key in ("invited", "reached", "started", "completed", "declined", "opted_out", "opinions"):
            yield [*base, "", "", "", key, key, f[key], None, None]
        for key, value in f["tickets"].items():
            yield [*base, "", "", "", "tickets", key, value, None, None]
        for q in f["questions"]:
            head = [*base, q["id"], q["text"], q["type"]]
            answered = q["answered"]
            yield [*head, "skipped", "跳过 skipped", q["skipped"], None, answered]
            yield [*head, "unreadable", "无法识别 unreadable", q["unreadable"], None, answered]
            for o in q.get("options") or []:
                yield [*head, f"option:{o['code']}", o["label"], o["count"], o["share"], answered]
            for g in q.get("groups") or []:
                yield [*head, "group:" + ",".join(g["codes"]), g["label"], g["count"], g["share"], answered]
            for d in (q.get("numbers") or {}).get("distribution", []):
                yield [*head, f"value:{d['value']}", str(d["value"]), d["count"], None, answered]
            for t in q.get("texts") or []:
                yield [*head, f"text:{t['answer_id']}", t["text"], 1, None, answered, t["kind"], t["ticket_id"]]


def write_figures_xlsx(report: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("figures")
    sheet.append(HEADERS)
    for row in figure_rows(report):
        sheet.append([_safe(v) for v in row])
    book.save(str(path))


def write_figures_csv(report: dict[str, Any], path: Path) -> None:
    # utf-8-sig: the byte-order mark tells Excel the file is UTF-8 (else it reads Chinese as GBK).
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for row in figure_rows(report):
            writer.writerow([_safe(v) for v in row])


def _safe(value: Any) -> Any:
    """A respondent's words starting with = + - @ would run as a formula in Excel: quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


__all__ = ["HEADERS", "figure_rows", "write_figures_csv", "write_figures_xlsx"]
