"""Reports as files: a report's figures as XLSX or CSV, and every raw answer as XLSX or CSV.

Figures come from a report dict (the JSON contract of `bot.services.reports.build_report`)
and are small: xlsxwriter writes them. Raw answers can be a million rows: they are read
from a server-side cursor in chunks and written a chunk at a time (XLSX by
bot.services.xlsx_stream, which says why not xlsxwriter there; CSV by the csv module), so
memory stays flat whatever the size. CSV is UTF-8 with a BOM: without it Excel on Windows
reads Chinese as mojibake.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.xlsx_stream import XlsxStream
from storage.models import Campaign, Flow
from storage.repositories.answer_export import AnswerExportRepository, AnswerFilter
from storage.repositories.organisations import OrganisationRepository, Scope

SHANGHAI = timezone(timedelta(hours=8), "CST")
_TO_SHANGHAI = timedelta(hours=8)  # China keeps one offset all year
BOM = "\ufeff"

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
NPS_LABELS = {"promoters": "推荐者 promoters", "passives": "中立者 passives", "detractors": "贬损者 detractors"}
NUMBER_LABELS = {
    "count": "数值个数 values",
    "mean": "平均 mean",
    "median": "中位数 median",
    "min": "最小 min",
    "max": "最大 max",
}
KIND_LABELS = {
    "complaint": "投诉 complaint",
    "help": "求助 help",
    "suggestion": "建议 suggestion",
    "none": "其他 none",
}

# Stored codes as the export's readers (staff, in Excel) know them.
CHANNEL_LABELS = {
    "wechat": "微信 WeChat", "telegram": "Telegram", "phone": "电话 phone", "simulator": "模拟器 simulator",
    "console": "终端 console",
}  # fmt: skip
STATUS_LABELS = {"answered": "已回答 answered", "skipped": "跳过 skipped", "unreadable": "无法识别 unreadable"}

# The figures table's columns, as the reports-core branch laid them out for
# `huifang report --format xlsx|csv` (bot.services.report_formats writes through here).
HEADERS = ["类别 category", "流程 flow", "问题 question", "题目 text", "类型 type", "项目 item", "名称 label",
           "人数 count", "比例 share", "作答 answered", "意见类别 kind", "工单 ticket"]  # fmt: skip
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
    """The report as one tidy table (HEADERS): the totals of everything, then per flow its
    totals and, per question, skipped/unreadable, every option, group, NPS part, number
    figure and free text; the cross-tab last. Shares stay fractions 0..1 as in the report;
    NPS scores and number statistics go in the count column, named by their label."""
    totals = report.get("totals") or {}
    everything = ["", "全部 all", "", "", ""]
    for key, label in TOTAL_LABELS.items():
        if key in totals:
            yield [*everything, key, label, totals[key], None, None]
    for key, value in (totals.get("tickets") or {}).items():
        yield [*everything, f"tickets:{key}", TICKET_LABELS.get(key, key), value, None, None]
    for f in report.get("flows") or []:
        base = [f.get("category", ""), f.get("code") or f.get("flow_id", "")]
        for key, label in TOTAL_LABELS.items():
            if key in f:
                yield [*base, "", "", "", key, label, f[key], None, None]
        for key, value in (f.get("tickets") or {}).items():
            yield [*base, "", "", "", f"tickets:{key}", TICKET_LABELS.get(key, key), value, None, None]
        for q in f.get("questions") or []:
            head = [*base, q.get("id", ""), q.get("text", ""), q.get("type", "")]
            answered = q.get("answered")
            for key, label in (("skipped", "跳过 skipped"), ("unreadable", "无法识别 unreadable")):
                if key in q:
                    yield [*head, key, label, q[key], None, answered]
            for o in q.get("options") or []:
                yield [*head, f"option:{o.get('code')}", o.get("label"), o.get("count"), o.get("share"), answered]
            for g in q.get("groups") or []:
                codes = ",".join(map(str, g.get("codes") or []))
                yield [*head, f"group:{codes}", g.get("label"), g.get("count"), g.get("share"), answered]
            nps = q.get("nps")
            if nps:
                yield [*head, "nps:score", "净推荐值 NPS", nps.get("score"), None, answered]
                for key, label in NPS_LABELS.items():
                    yield [*head, f"nps:{key}", label, nps.get(key), None, answered]
            numbers = q.get("numbers") or {}
            for key, label in NUMBER_LABELS.items():
                if numbers.get(key) is not None:
                    yield [*head, f"number:{key}", label, numbers[key], None, answered]
            for d in numbers.get("distribution") or []:
                yield [*head, f"value:{d.get('value')}", str(d.get("value")), d.get("count"), None, answered]
            for t in q.get("texts") or []:
                kind = t.get("kind") or "none"
                yield [*head, f"text:{t.get('answer_id')}", t.get("text"), 1, None, answered,
                       KIND_LABELS.get(kind, kind), t.get("ticket_id")]  # fmt: skip
    crosstab = report.get("crosstab")
    if crosstab:
        head = ["", "交叉 crosstab", crosstab.get("question_id", ""), f"按 by {crosstab.get('by', '')}", ""]
        for row in crosstab.get("rows") or []:
            for code, count in (row.get("counts") or {}).items():
                yield [*head, f"crosstab:{row.get('key')}:{code}", row.get("label"), count, None, row.get("answered")]


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
    writer.writerow(HEADERS)
    writer.writerows([_csv_safe(c) for c in row] for row in figure_rows(report))


def write_figures_xlsx(report: Mapping[str, Any], path: str | Path | IO[bytes]) -> None:
    """Sheets: 数据 figures (the tidy table, shares as percentages), 意见 texts (free texts with
    their kind and ticket), 交叉 crosstab (when the report has one)."""
    book = xlsxwriter.Workbook(path if not isinstance(path, Path) else str(path), {"constant_memory": True})
    try:
        bold = book.add_format({"bold": True})
        percent = book.add_format({"num_format": "0.00%"})
        share = HEADERS.index("比例 share")
        figures = book.add_worksheet("数据 figures")
        figures.write_row(0, 0, HEADERS, bold)
        figures.freeze_panes(1, 0)
        for r, row in enumerate(figure_rows(report), start=1):
            _write_cells(figures, r, row, {share: percent})
        texts = book.add_worksheet("意见 texts")
        texts.write_row(0, 0, TEXT_HEADER, bold)
        for r, row in enumerate(text_rows(report), start=1):
            _write_cells(texts, r, row, {})
        crosstab = report.get("crosstab")
        if crosstab:
            _write_crosstab(book.add_worksheet("交叉 crosstab"), report, bold)
    finally:
        book.close()


def _write_cells(sheet: Any, r: int, row: list[Any], formats: Mapping[int, Any]) -> None:
    # write_string for text: a respondent's "=1+1" or "http://…" stays text, never a
    # formula or link (xlsxwriter's generic write() would guess).
    for c, value in enumerate(row):
        if value is None:
            continue
        if isinstance(value, str):
            sheet.write_string(r, c, value)
        else:
            sheet.write_number(r, c, value, formats.get(c))


def _write_crosstab(sheet: Any, report: Mapping[str, Any], bold: Any) -> None:
    crosstab = report.get("crosstab") or {}
    columns = crosstab_columns(report)
    title = f"{crosstab.get('question_id', '')} × {crosstab.get('by', '')}"
    sheet.write_row(0, 0, [title, *(label for _, label in columns), "作答 answered"], bold)
    for r, row in enumerate(crosstab.get("rows") or [], start=1):
        sheet.write_string(r, 0, str(row.get("label") or row.get("key") or ""))
        for c, (code, _) in enumerate(columns, start=1):
            sheet.write_number(r, c, (row.get("counts") or {}).get(code, 0))
        sheet.write_number(r, len(columns) + 1, row.get("answered") or 0)


def crosstab_columns(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The cross-tab's columns as (code, label): every answer code of any row in the order
    first seen, named by the question's option label where the report has the question."""
    crosstab = report.get("crosstab") or {}
    labels: dict[str, str] = {}
    for flow in report.get("flows") or []:
        for q in flow.get("questions") or []:
            if q.get("id") == crosstab.get("question_id"):
                labels.update({str(o.get("code")): str(o.get("label")) for o in q.get("options") or []})
    codes: list[str] = []
    for row in crosstab.get("rows") or []:
        codes.extend(c for c in row.get("counts") or {} if c not in codes)
    return [(c, labels.get(c, c)) for c in codes]


@lru_cache(maxsize=8192)  # most texts repeat (organisations, wordings, labels); bounded
def _safe_text(value: str) -> str:
    return str(_csv_safe(value))


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
    flow_id: int | str | None = None,
    category: str | None = None,
    org: str | None = None,
    campaign_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> AnswerFilter:
    """The filters checked and made into a query's bounds. `flow_id`: a flow's id or code;
    `org` narrows to an organisation in `scope` and those under it; `since`/`until` are
    whole days in Asia/Shanghai, both included, of the day a session started (as the report
    counts it). Raises ReportFilterError for anything that names nothing the caller may see."""
    where = scope
    if org:
        found = await OrganisationRepository(session).by_code(org.strip())
        if found is None or not found.path.startswith(scope.path):
            raise ReportFilterError(f"没有这个机构，或不在您的范围内 no such organisation in your scope: {org}")
        where = Scope.of(found)
    if flow_id is not None:
        found_flow = await (
            session.get(Flow, flow_id)
            if isinstance(flow_id, int)
            else session.scalar(select(Flow).where(Flow.code == flow_id))
        )
        if found_flow is None:
            raise ReportFilterError(f"没有这个流程 no such flow: {flow_id}")
        flow_id = found_flow.id
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
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # version → (category, flow title)

    async def learn(self, version_ids: Iterable[int]) -> None:
        new = sorted(set(version_ids) - self.by_version.keys())
        for vid, definition in (await self.repo.definitions(new)).items():
            category = definition.get("category") or {}
            self.names[vid] = (
                str((category.get("name") or {}).get("zh") or category.get("code") or ""),
                str((definition.get("title") or {}).get("zh") or definition.get("id") or ""),
            )
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
        category_name, title = self.names.get(version_id, (category, flow_code))
        status = "skipped" if skipped else "answered" if parsed else "unreadable"
        return [
            respondent_id,
            organisation_name or "",
            category_name,
            title,
            version,
            CHANNEL_LABELS.get(channel, channel) if channel else "",
            question_id,
            prompt,
            "" if skipped or not parsed else _labelled(value, labels),
            raw_text,
            STATUS_LABELS[status],
            KIND_LABELS.get(text_kind, text_kind) if text_kind else "",
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
            row[-1] = row[-1].isoformat(" ", "seconds")  # 2026-06-01 17:00:30
            writer.writerow([_safe_text(c) if type(c) is str else c for c in row])
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


class _Pipe:
    """A write-only, unseekable sink whose bytes are taken out as they come (zipfile then
    writes data descriptors instead of seeking back)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def answers_xlsx_chunks(session: AsyncSession, where: AnswerFilter) -> AsyncIterator[bytes]:
    """The XLSX export as bytes, sent while it is written: a piece per chunk of rows, the
    workbook's index last."""
    pipe = _Pipe()
    book = XlsxStream(cast(IO[bytes], pipe), title="答案 answers", header=ANSWER_HEADER)  # write() is all it uses
    closed = False
    try:
        async for rows in answer_rows(session, where):
            # Building the XML is CPU work: in a thread, so the event loop keeps serving.
            await asyncio.to_thread(book.append_many, rows)
            yield pipe.take()
        await asyncio.to_thread(book.close)
        closed = True
        yield pipe.take()
    finally:
        if not closed:  # the client went away: nothing more to send
            book.abandon()


async def stream_answers_xlsx(
    session: AsyncSession, where: AnswerFilter, out: str | Path | IO[bytes], *, progress: Progress | None = None
) -> int:
    """Writes the XLSX export to `out` (a path or any binary file); the number of answers
    written. Past Excel's 1,048,576 rows the answers go on in a second sheet."""
    if isinstance(out, (str, Path)):
        with open(out, "wb") as file:
            return await stream_answers_xlsx(session, where, file, progress=progress)
    book = XlsxStream(out, title="答案 answers", header=ANSWER_HEADER)
    written = 0
    async for rows in answer_rows(session, where):
        await asyncio.to_thread(book.append_many, rows)
        written += len(rows)
        if progress is not None:
            progress(written)
    await asyncio.to_thread(book.close)
    return written
