"""A report dict (bot.services.reports) as a file: JSON, Markdown, print-ready HTML (the
Jinja2 template report_templates/report.html with admin/static/report-print.css) and Word
(python-docx). XLSX and CSV of the figures are bot.services.report_exports'.

The tables are built once (`flow_tables`) and only laid out differently per format, so the
Markdown, the HTML and the Word document always show the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.services.report_summary import number, percent, summary_en, summary_zh

TEXT_FORMATS = ("json", "md", "html")
FILE_FORMATS = ("docx", "xlsx", "csv")
FORMATS = TEXT_FORMATS + FILE_FORMATS
KIND_LABELS = {
    "complaint": "投诉 complaint",
    "help": "求助 help",
    "suggestion": "建议 suggestion",
    "none": "其他 other",
}
FUNNEL = [("invited", "邀请 invited"), ("reached", "送达 reached"), ("started", "参与 started"),
          ("completed", "完成 completed"), ("declined", "婉拒 declined"), ("opted_out", "退订 opted out")]  # fmt: skip
TICKETS = [("opened", "开立 opened"), ("resolved", "解决 resolved"), ("confirmed", "确认 confirmed"),
           ("reopened", "重开 reopened"), ("passed_up", "上报 passed up")]  # fmt: skip
TITLE = "回访报告 Follow-up report"
FONT_EAST_ASIA = "宋体"  # SimSun: on every Chinese Windows/Office; Word picks it for the CJK text runs
_TEMPLATES = Path(__file__).parent / "report_templates"


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


def _question_tables(q: dict[str, Any]) -> list[Table]:
    head = (f"{q['text']}（作答 answered {q['answered']}，跳过 skipped {q['skipped']}，"
            f"无法识别 unreadable {q['unreadable']}）")  # fmt: skip
    tables = []
    if q.get("options") is not None:
        rows = [[o["label"], str(o["count"]), percent(o["share"])] for o in q["options"]]
        tables.append(Table(head, ["选项 Option", "人数 Count", "比例 Share"], rows))
        head = f"{q['label']}：分组 groups"
    if q.get("groups"):
        rows = [[g["label"], str(g["count"]), percent(g["share"])] for g in q["groups"]]
        tables.append(Table(head, ["分组 Group", "人数 Count", "比例 Share"], rows))
    if q.get("numbers") is not None:
        n = q["numbers"]
        stats = [[key, "" if n[key] is None else number(n[key])] for key in ("count", "mean", "median", "min", "max")]
        tables.append(Table(head, ["统计 Statistic", "值 Value"], stats))
        if n["distribution"]:
            dist = [[number(d["value"]), str(d["count"])] for d in n["distribution"]]
            tables.append(Table(f"{q['label']}：分布 distribution", ["值 Value", "人数 Count"], dist))
    if q.get("nps") is not None and q["nps"]["score"] is not None:
        p = q["nps"]
        rows = [[number(p["score"]), str(p["promoters"]), str(p["passives"]), str(p["detractors"])]]
        tables.append(Table(f"{q['label']}：净推荐值 NPS", ["NPS", "推荐者 Promoters", "中立者 Passives",
                                                           "贬损者 Detractors"], rows))  # fmt: skip
    if q.get("texts") is not None:
        rows = [[t["text"], KIND_LABELS.get(t["kind"], t["kind"]), f"#{t['ticket_id']}" if t["ticket_id"] else ""]
                for t in q["texts"]]  # fmt: skip
        tables.append(Table(head, ["意见 Text", "类别 Kind", "工单 Ticket"], rows))
    return tables


def flow_tables(f: dict[str, Any]) -> list[Table]:
    funnel = Table("回访情况 Reach", [label for _, label in FUNNEL], [[str(f[key]) for key, _ in FUNNEL]])
    tickets = Table("工单 Tickets", [label for _, label in TICKETS], [[str(f["tickets"][key]) for key, _ in TICKETS]])
    return [funnel, tickets, *(t for q in f["questions"] for t in _question_tables(q))]


def crosstab_table(report: dict[str, Any]) -> Table | None:
    c = report.get("crosstab")
    if not c:
        return None
    codes = [o["code"] for o in c["options"]]
    headers = [f"{c['by']}", *[o["label"] for o in c["options"]], "作答 answered"]
    rows = [[r["label"], *[str(r["counts"].get(code, 0)) for code in codes], str(r["answered"])] for r in c["rows"]]
    return Table(f"交叉表 Cross-tab: {c['question_id']} × {c['by']}", headers, rows)


_FILTER_NAMES = {
    "flow_id": "流程 flow", "category": "类别 category", "org": "机构 organisation", "campaign_id": "活动 campaign",
    "since": "自 from", "until": "至 until",
}  # fmt: skip


def filters_line(report: dict[str, Any]) -> str:
    """What the figures cover, in words a reader of the printed report knows: the flow's and
    category's names rather than "flow_id=6", the time to the minute."""
    flows = {f["flow_id"]: f for f in report.get("flows", [])}
    by_category = {f["category"]: f["category_label"] for f in report.get("flows", [])}
    given = []
    for key, value in report["filters"].items():
        if value is None:
            continue
        shown = value
        if key == "flow_id" and value in flows:
            shown = flows[value]["title"]
        elif key == "category":
            shown = by_category.get(value, value)
        given.append(f"{_FILTER_NAMES.get(key, key)}：{shown}")
    generated = str(report["generated_at"]).replace("T", " ")[:16]
    line = "筛选 filters：" + ("；".join(given) if given else "无 none") + f" · 生成 generated {generated}"
    if report.get("test_sessions_left_out"):
        n = report["test_sessions_left_out"]
        line += f" · 试用产生的测试问卷{n}份未计入 {n} test survey{'' if n == 1 else 's'} not counted"
    return line


def left_out_note(report: dict[str, Any]) -> str:
    n = report.get("test_sessions_left_out") or 0
    return (f"测试受访者的问卷{n}份未计入（终端对话 huifang chat 和模拟器里的都是测试；代录真实访谈请用 huifang chat "
            f"--interview） {n} survey{'' if n == 1 else 's'} of test respondents not counted (huifang chat and the "
            f"simulator make test respondents; huifang chat --interview records a real one)")  # fmt: skip


def _view(report: dict[str, Any]) -> dict[str, Any]:
    """What every layout shows, in order."""
    return {
        "title": TITLE,
        "filters": filters_line(report),
        "summary_zh": summary_zh(report),
        "summary_en": summary_en(report),
        "flows": [
            (f"{f['category_label']} · {f['title']}（{f['title_en']}）", flow_tables(f)) for f in report["flows"]
        ],
        "crosstab": crosstab_table(report),
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    return [
        f"**{_md_cell(t.caption)}**", "",
        "| " + " | ".join(map(_md_cell, t.headers)) + " |",
        "|" + "---|" * len(t.headers),
        *("| " + " | ".join(map(_md_cell, row)) + " |" for row in t.rows), "",
    ]  # fmt: skip


def to_markdown(report: dict[str, Any]) -> str:
    v = _view(report)
    lines = [f"# {v['title']}", "", v["filters"], "", "## 摘要", "", *[p + "\n" for p in v["summary_zh"]],
             "## Summary", "", *[p + "\n" for p in v["summary_en"]]]  # fmt: skip
    for heading, tables in v["flows"]:
        lines += [f"## {heading}", ""]
        for t in tables:
            lines += _md_table(t)
    if v["crosstab"] is not None:
        lines += ["## 交叉表 Cross-tab", "", *_md_table(v["crosstab"])]
    return "\n".join(lines).rstrip() + "\n"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))


def to_html(report: dict[str, Any], *, stylesheet: str = "report-print.css") -> str:
    """A whole page; `stylesheet` is where the page finds report-print.css (next to the file
    for the CLI, /console/static/… in the console). No inline style or script (the
    console's CSP)."""
    return _environment().get_template("report.html").render(stylesheet=stylesheet, **_view(report))


def print_stylesheet() -> Path:
    """admin/static/report-print.css: the CLI copies it next to an HTML report."""
    return Path(__file__).resolve().parents[2] / "admin" / "static" / "report-print.css"


def write_docx(report: dict[str, Any], path: Path) -> None:
    from docx import Document
    from docx.oxml.ns import qn

    doc = Document()
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        style = doc.styles[style_name]
        # python-docx's font.name sets only the Latin fonts; Word takes Chinese text's font
        # from w:eastAsia, which would otherwise fall back to the theme's (often missing).
        rpr = style.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(qn("w:eastAsia"), FONT_EAST_ASIA)
    v = _view(report)
    doc.add_heading(v["title"], level=0)
    doc.add_paragraph(v["filters"])
    doc.add_heading("摘要", level=1)
    for p in v["summary_zh"]:
        doc.add_paragraph(p)
    doc.add_heading("Summary", level=1)
    for p in v["summary_en"]:
        doc.add_paragraph(p)

    def table(t: Table) -> None:
        doc.add_paragraph(t.caption)
        grid = doc.add_table(rows=1 + len(t.rows), cols=len(t.headers))
        grid.style = doc.styles["Table Grid"]
        for row_cells, values in zip(grid.rows, [t.headers, *t.rows], strict=True):
            for cell, value in zip(row_cells.cells, values, strict=True):
                cell.text = value

    for heading, tables in v["flows"]:
        doc.add_heading(heading, level=1)
        for t in tables:
            table(t)
    if v["crosstab"] is not None:
        doc.add_heading("交叉表 Cross-tab", level=1)
        table(v["crosstab"])
    doc.save(str(path))


def write_report(report: dict[str, Any], fmt: str, path: Path) -> list[Path]:
    """Write `report` as `fmt` to `path`; the files written (an HTML report brings its
    stylesheet along)."""
    if fmt == "html":
        path.write_text(to_html(report), encoding="utf-8")
        css = path.with_name("report-print.css")
        css.write_bytes(print_stylesheet().read_bytes())
        return [path, css]
    writers: dict[str, Callable[[dict[str, Any], Path], None]] = {"docx": write_docx}
    if fmt in ("xlsx", "csv"):
        from bot.services import report_exports

        writers = {"xlsx": report_exports.write_figures_xlsx, "csv": report_exports.write_figures_csv}
    if fmt in writers:
        writers[fmt](report, path)
    elif fmt == "json":
        path.write_text(to_json(report) + "\n", encoding="utf-8")
    elif fmt == "md":
        path.write_text(to_markdown(report), encoding="utf-8")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return [path]


def render_text(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(f"{fmt} is written to a file")


__all__ = ["FILE_FORMATS", "FORMATS", "TEXT_FORMATS", "Table", "crosstab_table", "flow_tables", "left_out_note",
           "print_stylesheet",
           "render_text", "to_html", "to_json", "to_markdown", "write_docx", "write_report"]  # fmt: skip
