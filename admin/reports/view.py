"""The report dict as the page shows it: percentages as the article writes them, and for
each question the chart to draw (its data goes to admin/static/reports.js through a
data-chart attribute, since the console's CSP runs no inline script)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.services.report_exports import crosstab_columns

NPS_PARTS = (("promoters", "推荐者"), ("passives", "中立者"), ("detractors", "贬损者"))
TYPE_NAMES = {
    "single": ("单选", "single choice"),
    "multi": ("多选", "multiple choice"),
    "rating": ("评分", "rating"),
    "nps": ("净推荐值", "NPS"),
    "number": ("数字", "number"),
    "text": ("文字", "free text"),
}
KIND_NAMES = {
    "complaint": ("投诉", "complaint"),
    "help": ("求助", "help"),
    "suggestion": ("建议", "suggestion"),
    "none": ("其他", "other"),
}
TOTALS = (
    ("invited", "邀请", "invited"),
    ("reached", "触达", "reached"),
    ("started", "开始", "started"),
    ("completed", "完成", "completed"),
    ("declined", "拒绝", "declined"),
    ("opted_out", "退订", "opted out"),
    ("opinions", "意见", "opinions"),
)
TICKETS = (
    ("opened", "新建工单", "opened"),
    ("resolved", "已解决", "resolved"),
    ("confirmed", "已确认", "confirmed"),
    ("reopened", "重新打开", "reopened"),
    ("passed_up", "上报上级", "passed up"),
)


def percent(share: float | None) -> str:
    """0.98 → 98%, 0.455 → 45.5%, 0.66667 → 66.67%: at most two decimals, as the article."""
    if share is None:
        return "—"
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def chart(question: Mapping[str, Any]) -> str | None:
    """The chart of a question as JSON for reports.js, or None when it has nothing to draw:
    bars of the options (or groups), a pie of NPS promoters/passives/detractors, a
    histogram of numbers."""
    kind = question.get("type")
    spec: dict[str, Any] | None = None
    if kind == "nps" and question.get("nps"):
        nps = question["nps"]
        spec = {"type": "pie", "labels": [zh for _, zh in NPS_PARTS], "values": [nps.get(k) or 0 for k, _ in NPS_PARTS]}
    elif kind == "number" and question.get("numbers"):
        dist = question["numbers"].get("distribution") or []
        spec = {
            "type": "histogram",
            "labels": [str(d.get("value")) for d in dist],
            "values": [d.get("count") or 0 for d in dist],
        }
    elif question.get("options"):
        options = question["options"]
        spec = {
            "type": "bar",
            "labels": [str(o.get("label") or o.get("code")) for o in options],
            "values": [o.get("count") or 0 for o in options],
            "shares": [percent(o.get("share")) for o in options],
        }
    if spec is None or not any(spec["values"]):
        return None
    spec["title"] = str(question.get("text") or question.get("id") or "")
    return json.dumps(spec, ensure_ascii=False)


def crosstab_questions(report: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The questions a cross-tab can count, (id, text), from the report on the page: those
    with options, each id once."""
    seen: dict[str, str] = {}
    for flow in (report or {}).get("flows") or []:
        for q in flow.get("questions") or []:
            if q.get("options") and q.get("id") not in seen:
                seen[str(q["id"])] = f"{flow.get('title', '')} · {q.get('text', q['id'])}"
    return list(seen.items())


def question_text(report: Mapping[str, Any], question_id: str) -> str:
    """A question's wording in the report (the id when no flow there has it)."""
    for flow in report.get("flows") or []:
        for q in flow.get("questions") or []:
            if q.get("id") == question_id:
                return str(q.get("text") or question_id)
    return question_id


def when(iso: str | None) -> str:
    """An ISO time of the report ("2026-11-30T12:00:00+08:00") as staff read it."""
    return (iso or "")[:16].replace("T", " ")


__all__ = ["chart", "crosstab_columns", "crosstab_questions", "percent", "question_text", "when"]
