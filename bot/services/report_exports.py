"""Reports as files: a report's figures as XLSX or CSV, and every raw answer as XLSX or CSV.

Figures come from a report dict (the JSON contract of `bot.services.reports.build_report`)
and are small. Raw answers can be a million rows: they are read from a server-side cursor
in chunks and written row by row (xlsxwriter's constant_memory mode, CSV line by line), so
memory stays flat whatever the size. CSV is UTF-8 with a BOM: without it Excel on Windows
reads Chinese as mojibake.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, Flow
from storage.repositories.answer_export import AnswerExportRepository, AnswerFilter
from storage.repositories.organisations import OrganisationRepository, Scope

SHANGHAI = timezone(timedelta(hours=8), "CST")
_TO_SHANGHAI = timedelta(hours=8)  # China keeps one offset all year
BOM = "\ufeff"
# Excel's last row is 1,048,576: past it the answers go on in a second sheet.
XLSX_MAX_ROWS = 1_048_576

TOTAL_LABELS = {
    "invited": "邀请 invited",
    "reached": "触达 reached",
    "started": "开始 started",
    "completed": "完成 completed",
    "declined": "拒绝 declined",
    "opted_out": "退订 opted out",
    "opinions": "意见 opinions",
}
TICKET_LABELS = {
    "opened": "工单新建 tickets opened",
    "resolved": "工单已解决 tickets resolved",
    "confirmed": "工单已确认 tickets confirmed",
    "reopened": "工单重开 tickets reopened",
    "passed_up": "上报上级 passed up",
}
KIND_LABELS = {
    "complaint": "投诉 complaint",
    "help": "求助 help",
    "suggestion": "建议 suggestion",
    "none": "其他 none",
}

FIGURE_HEADER = [
    "流程 flow",
    "类别 category",
    "题号 question",
    "题目 question text",
    "题型 type",
    "项目 item",
    "代码 code",
    "名称 label",
    "人数 count",
    "比例 share",
    "数值 value",
]
TEXT_HEADER = ["流程 flow", "题号 question", "答案编号 answer id", "类型 kind", "内容 text", "工单 ticket", "时间 at"]
ANSWER_HEADER = [
    "受访者 respondent",
    "机构 organisation",
    "类别 category",
    "流程 flow",
    "版本 version",
    "渠道 channel",
    "题号 question",
    "题目 question text",
    "答案 answer",
    "原话 raw text",
    "状态 status",
    "文本类型 text kind",
    "回答时间 answered at (Asia/Shanghai)",
]


class ReportFilterError(ValueError):
    """A filter that names nothing the caller may see, or dates the wrong way round;
    the message is Chinese then English."""


# --- figures -------------------------------------------------------------------------------


def figure_rows(report: Mapping[str, Any]) -> Iterator[list[Any]]:
    """The report as one tidy table (FIGURE_HEADER): totals, then per flow its totals and,
    per question, answered/skipped/unreadable, every option, group, NPS and number figure,
    then the cross-tab. Shares stay fractions 0..1 as in the report."""
    all_flows = "全部 all"
    totals = report.get("totals") or {}
    for key, label in TOTAL_LABELS.items():
        if key in totals:
            yield [all_flows, "", "", "", "", "total", key, label, totals[key], None, None]
    for key, label in TICKET_LABELS.items():
        if key in (totals.get("tickets") or {}):
            yield [all_flows, "", "", "", "", "tickets", key, label, totals["tickets"][key], None, None]
    for flow in report.get("flows") or []:
        name, category = flow.get("title", ""), flow.get("category_label") or flow.get("category", "")
        for key, label in TOTAL_LABELS.items():
            if key in flow:
                yield [name, category, "", "", "", "total", key, label, flow[key], None, None]
        for key, label in TICKET_LABELS.items():
            if key in (flow.get("tickets") or {}):
                yield [name, category, "", "", "", "tickets", key, label, flow["tickets"][key], None, None]
        for q in flow.get("questions") or []:
            head = [name, category, q.get("id", ""), q.get("text", ""), q.get("type", "")]
            for key, label in (
                ("answered", "作答 answered"),
                ("skipped", "跳过 skipped"),
                ("unreadable", "未识别 unreadable"),
            ):
                if key in q:
                    yield [*head, "answers", key, label, q[key], None, None]
            for o in q.get("options") or []:
                yield [*head, "option", o.get("code"), o.get("label"), o.get("count"), o.get("share"), None]
            for g in q.get("groups") or []:
                yield [
                    *head,
                    "group",
                    "+".join(map(str, g.get("codes") or [])),
                    g.get("label"),
                    g.get("count"),
                    g.get("share"),
                    None,
                ]
            nps = q.get("nps")
            if nps:
                yield [*head, "nps", "score", "NPS 净推荐值", None, None, nps.get("score")]
                for key, label in (
                    ("promoters", "推荐者 promoters"),
                    ("passives", "中立者 passives"),
                    ("detractors", "贬损者 detractors"),
                ):
                    yield [*head, "nps", key, label, nps.get(key), None, None]
            numbers = q.get("numbers")
            if numbers:
                yield [*head, "number", "count", "人数 count", numbers.get("count"), None, None]
                for key, label in (
                    ("mean", "平均 mean"),
                    ("median", "中位数 median"),
                    ("min", "最小 min"),
                    ("max", "最大 max"),
                ):
                    yield [*head, "number", key, label, None, None, numbers.get(key)]
                for d in numbers.get("distribution") or []:
                    yield [
                        *head,
                        "distribution",
                        str(d.get("value")),
                        str(d.get("value")),
                        d.get("count"),
                        None,
                        d.get("value"),
                    ]
    crosstab = report.get("crosstab")
    if crosstab:
        for row in crosstab.get("rows") or []:
            for code, count in (row.get("counts") or {}).items():
                yield [
                    all_flows,
                    "",
                    crosstab.get("question_id", ""),
                    f"按 by {crosstab.get('by', '')}: {row.get('label', '')}",
                    "",
                    "crosstab",
                    code,
                    row.get("key"),
                    count,
                    None,
                    None,
                ]


def text_rows(report: Mapping[str, Any]) -> Iterator[list[Any]]:
    for flow in report.get("flows") or []:
        for q in flow.get("questions") or []:
            for t in q.get("texts") or []:
                kind = t.get("kind") or "none"
                yield [
                    flow.get("title", ""),
                    q.get("id", ""),
                    t.get("answer_id"),
                    KIND_LABELS.get(kind, kind),
                    t.get("text", ""),
                    t.get("ticket_id"),
                    t.get("at", ""),
                ]


def write_figures_csv(report: Mapping[str, Any], path: str | Path | IO[str]) -> None:
    """The tidy figures table as CSV, UTF-8 with a BOM."""
    if isinstance(path, (str, Path)):
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            _write_figures_csv(report, out)
    else:
        path.write(BOM)
        _write_figures_csv(report, path)


def _write_figures_csv(report: Mapping[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(FIGURE_HEADER)
    writer.writerows([_csv_safe(c) for c in row] for row in figure_rows(report))


def write_figures_xlsx(report: Mapping[str, Any], path: str | Path | IO[bytes]) -> None:
    """Sheets: 数据 figures (the tidy table, shares as percentages), 意见 texts (free texts with
    their kind and ticket), 交叉 crosstab (when the report has one)."""
    book = xlsxwriter.Workbook(path if not isinstance(path, Path) else str(path), {"constant_memory": True})
    try:
        bold = book.add_format({"bold": True})
        percent = book.add_format({"num_format": "0.00%"})
        figures = book.add_worksheet("数据 figures")
        figures.write_row(0, 0, FIGURE_HEADER, bold)
        figures.freeze_panes(1, 0)
        for r, row in enumerate(figure_rows(report), start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                figures.write(r, c, value, percent if c == FIGURE_HEADER.index("比例 share") else None)
        texts = book.add_worksheet("意见 texts")
        texts.write_row(0, 0, TEXT_HEADER, bold)
        for r, row in enumerate(text_rows(report), start=1):
            for c, value in enumerate(row):
                if value is not None:
                    texts.write_string(r, c, value) if isinstance(value, str) else texts.write(r, c, value)
        crosstab = report.get("crosstab")
        if crosstab:
            _write_crosstab(book.add_worksheet("交叉 crosstab"), crosstab, bold)
    finally:
        book.close()


def _write_crosstab(sheet: Any, crosstab: Mapping[str, Any], bold: Any) -> None:
    rows = crosstab.get("rows") or []
    codes: list[str] = []
    for row in rows:
        codes.extend(c for c in (row.get("counts") or {}) if c not in codes)
    sheet.write_row(
        0, 0, [f"{crosstab.get('question_id', '')} × {crosstab.get('by', '')}", *codes, "作答 answered"], bold
    )
    for r, row in enumerate(rows, start=1):
        sheet.write_string(r, 0, str(row.get("label") or row.get("key") or ""))
        for c, code in enumerate(codes, start=1):
            sheet.write_number(r, c, (row.get("counts") or {}).get(code, 0))
        sheet.write_number(r, len(codes) + 1, row.get("answered") or 0)


def _csv_safe(value: Any) -> Any:
    """A text cell Excel would run as a formula (=, +, -, @ first) gets a leading quote:
    answers are typed by the public, and an export must not execute them (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


# --- raw answers ---------------------------------------------------------------------------


async def answer_filter(
    session: AsyncSession,
    *,
    scope: Scope,
    flow_id: int | None = None,
    category: str | None = None,
    org: str | None = None,
    campaign_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> AnswerFilter:
    """The filters checked and made into a query's bounds. `org` narrows to an organisation
    in `scope` and those under it; `since`/`until` are whole days in Asia/Shanghai, both
    included. Raises ReportFilterError for anything that names nothing the caller may see."""
    where = scope
    if org:
        found = await OrganisationRepository(session).by_code(org.strip())
        if found is None or not found.path.startswith(scope.path):
            raise ReportFilterError(f"没有这个机构，或不在您的范围内 no such organisation in your scope: {org}")
        where = Scope.of(found)
    if flow_id is not None and await session.get(Flow, flow_id) is None:
        raise ReportFilterError(f"没有这个流程 no such flow: {flow_id}")
    if campaign_id is not None:
        campaign = await session.get(Campaign, campaign_id)
        org_path = None
        if campaign is not None:
            owner = await OrganisationRepository(session).get(campaign.organisation_id)
            org_path = owner.path if owner is not None else None
        if org_path is None or not org_path.startswith(scope.path):
            raise ReportFilterError(f"没有这个活动，或不在您的范围内 no such campaign in your scope: {campaign_id}")
    if since is not None and until is not None and since > until:
        raise ReportFilterError("开始日期晚于结束日期 the start date is after the end date")
    return AnswerFilter(
        scope=where,
        flow_id=flow_id,
        category=category.strip() if category and category.strip() else None,
        campaign_id=campaign_id,
        since=_day_start(since) if since is not None else None,
        until=_day_start(until + timedelta(days=1)) if until is not None else None,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


@dataclass
class _Questions:
    """Question texts and option labels per flow version, fetched once per version seen."""

    repo: AnswerExportRepository
    by_version: dict[int, dict[str, tuple[str, dict[Any, str]]]]

    async def learn(self, version_ids: Iterable[int]) -> None:
        new = sorted(set(version_ids) - self.by_version.keys())
        for vid, definition in (await self.repo.definitions(new)).items():
            questions: dict[str, tuple[str, dict[Any, str]]] = {}
            for q in definition.get("questions") or []:
                labels = {
                    o.get("code"): str((o.get("label") or {}).get("zh") or o.get("code"))
                    for o in q.get("options") or []
                }
                questions[str(q.get("id"))] = (str((q.get("prompt") or {}).get("zh") or q.get("id")), labels)
            self.by_version[vid] = questions

    def row(self, a: Sequence[Any]) -> list[Any]:
        # Unpacked by position (EXPORT_COLUMNS' order): a million rows go through here.
        (_, respondent_id, _, organisation_name, category, flow_code, version_id, version, _, channel,
         question_id, value, raw_text, parsed, skipped, text_kind, answered_at) = a  # fmt: skip
        prompt, labels = self.by_version.get(version_id, {}).get(question_id, (question_id, {}))
        status = "skipped" if skipped else "answered" if parsed else "unreadable"
        return [
            respondent_id,
            organisation_name or "",
            category,
            flow_code,
            version,
            channel or "",
            question_id,
            prompt,
            "" if skipped or not parsed else _labelled(value, labels),
            raw_text,
            status,
            text_kind or "",
            (answered_at + _TO_SHANGHAI).replace(tzinfo=None),  # stored UTC, shown in Shanghai
        ]


def _labelled(value: Any, labels: Mapping[Any, str]) -> str:
    """Option codes as the labels staff know (非常好, not very_good); yes/no as 是/否."""
    if isinstance(value, str):  # the common case, single choice or text, first
        return labels.get(value, value)
    values = value if isinstance(value, list) else [value] if value is not None else []
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("是" if v else "否")
        elif isinstance(v, str):
            out.append(labels.get(v, v))
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return "、".join(out)


async def answer_rows(
    session: AsyncSession, where: AnswerFilter, *, chunk: int | None = None
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows (ANSWER_HEADER), a chunk at a time, in answer order."""
    repo = AnswerExportRepository(session)
    questions = _Questions(repo, {})
    async for rows in repo.chunks(where, chunk=chunk):
        await questions.learn(r[6] for r in rows)  # EXPORT_COLUMNS: flow_version_id
        yield [questions.row(r) for r in rows]


Progress = Callable[[int], None]


async def _csv_pieces(session: AsyncSession, where: AnswerFilter) -> AsyncIterator[tuple[bytes, int]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ANSWER_HEADER)
    yield (BOM + buffer.getvalue()).encode(), 0
    async for rows in answer_rows(session, where):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            row[-1] = row[-1].strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([_csv_safe(c) for c in row])
        yield buffer.getvalue().encode(), len(rows)


async def answers_csv_chunks(session: AsyncSession, where: AnswerFilter) -> AsyncIterator[bytes]:
    """The CSV export as bytes, the BOM and header first, then one piece per chunk of rows."""
    async for piece, _ in _csv_pieces(session, where):
        yield piece


async def stream_answers_csv(
    session: AsyncSession, where: AnswerFilter, out: IO[bytes], *, progress: Progress | None = None
) -> int:
    """Writes the CSV export to `out`; the number of answers written."""
    written = 0
    async for piece, rows in _csv_pieces(session, where):
        out.write(piece)
        written += rows
        if progress is not None and rows:
            progress(written)
    return written


class AnswersWorkbook:
    """The XLSX export written row by row (xlsxwriter constant_memory: each row goes to disk
    as it is finished), with native dates and a new sheet past Excel's row limit."""

    def __init__(self, out: str | Path | IO[bytes]) -> None:
        self.book = xlsxwriter.Workbook(out if not isinstance(out, Path) else str(out), {"constant_memory": True})
        self.bold = self.book.add_format({"bold": True})
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.sheets = 0
        self.count = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        self.sheet = self.book.add_worksheet("答案 answers" if self.sheets == 1 else f"答案 answers {self.sheets}")
        self.sheet.write_row(0, 0, ANSWER_HEADER, self.bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        sheet, last = self.sheet, len(ANSWER_HEADER) - 1
        for values in rows:
            if self.row >= XLSX_MAX_ROWS:
                self._new_sheet()
                sheet = self.sheet
            r = self.row
            for c in range(last):
                v = values[c]
                if isinstance(v, str):
                    if v:
                        sheet.write_string(r, c, v)
                elif v is not None:
                    sheet.write_number(r, c, v)
            sheet.write_datetime(r, last, values[last], self.when)
            self.row += 1
        self.count += len(rows)

    def close(self) -> None:
        self.book.close()


async def stream_answers_xlsx(
    session: AsyncSession, where: AnswerFilter, out: str | Path | IO[bytes], *, progress: Progress | None = None
) -> int:
    """Writes the XLSX export to `out` (a path or a seekable binary file); the number of
    answers written."""
    book = AnswersWorkbook(out)
    try:
        async for rows in answer_rows(session, where):
            # Writing is CPU work (xlsxwriter is pure Python): in a thread, so a server's
            # event loop keeps answering other requests during a long export.
            await asyncio.to_thread(book.write, rows)
            if progress is not None:
                progress(book.count)
    finally:
        await asyncio.to_thread(book.close)
    return book.count
