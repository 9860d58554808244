"""/console/reports: the figures of a report with filters, a chart and a table per question,
free texts with their kind and ticket, and the download links. Read-only, so every role sees
it, in their own organisation's scope; raw-answer downloads are offered to staff and admins
only (the API refuses viewers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from admin.auth.deps import ConsoleStaff, DbSession
from admin.pages import render
from admin.reports import view
from admin.reports.filters import CROSSTAB_BY, Filters, ReportQuery
from admin.reports.source import Builder
from bot.services.report_choices import report_choices
from bot.services.report_exports import ReportFilterError, answer_filter

DOCX_PATH = "/api/v1/reports/report.docx"


def reports_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/reports", response_class=HTMLResponse)
    async def reports_page(
        request: Request, me: ConsoleStaff, s: DbSession, filters: Filters, builder: Builder
    ) -> HTMLResponse:
        choices = await report_choices(s, me.scope)
        error: str | None = None
        report: dict[str, Any] | None = None
        query = ReportQuery()
        try:
            query = filters.parse()
            await answer_filter(s, scope=me.scope, **query.answer_filters())
            report = await builder(s, scope=me.scope, **query.report_filters())
        except ReportFilterError as exc:
            error = str(exc)
        qs = query.query_string()
        suffix = f"?{qs}" if qs else ""
        downloads = [
            ("报表 Excel", "figures XLSX", f"/api/v1/reports/figures.xlsx{suffix}"),
            ("报表 CSV", "figures CSV", f"/api/v1/reports/figures.csv{suffix}"),
        ]
        if me.can_handle:
            downloads += [
                ("原始答案 Excel", "answers XLSX", f"/api/v1/reports/answers.xlsx{suffix}"),
                ("原始答案 CSV", "answers CSV", f"/api/v1/reports/answers.csv{suffix}"),
            ]
        downloads.append(("Word 报告", "report DOCX", f"{DOCX_PATH}{suffix}"))
        return render(
            request, "reports/page.html", me=me, report=report, error=error, filters=filters,
            choices=choices, downloads=downloads, CROSSTAB_BY=CROSSTAB_BY, V=view,
            questions=view.crosstab_questions(report),
            status_code=422 if error else 200,
        )  # fmt: skip

    return router


__all__ = ["reports_pages_router"]
