"""Report downloads: /api/v1/reports/figures.xlsx|csv and report.docx (every role) and
/api/v1/reports/answers.xlsx|csv (staff and admins: every answer, with respondents' own
words). All in the caller's organisation scope; filters as the report page's.

Raw answers can be a million rows: both formats go out chunk by chunk as the cursor reads
them (the XLSX zip's index comes last), never held in memory or on disk.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from admin.auth.deps import AppContainer, CurrentHandler, CurrentStaff, DbSession
from admin.pages import SHANGHAI
from admin.reports.filters import Filters, ReportQuery
from admin.reports.source import Builder
from bot.services.audit import record_admin_action
from bot.services.report_exports import (
    ReportFilterError,
    answer_filter,
    answers_csv_chunks,
    answers_xlsx_chunks,
    write_figures_csv,
    write_figures_xlsx,
)
from bot.services.report_formats import write_docx
from bot.services.staff import StaffPrincipal

if TYPE_CHECKING:
    from storage.repositories.answer_export import AnswerFilter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def attachment(name: str) -> str:
    """A Content-Disposition naming a Chinese file: `filename*` (RFC 5987/6266) for every
    current browser, and an ASCII `filename` for the rest."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _stamp(now: datetime) -> str:
    return now.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")


def reports_exports_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
    bad_filter: dict[int | str, dict[str, Any]] = {
        422: {"description": "A filter names nothing in your scope, or is malformed (zh + en)"}
    }

    async def _checked(s: AsyncSession, me: StaffPrincipal, filters: Filters) -> tuple[ReportQuery, AnswerFilter]:
        try:
            query = filters.parse()
            return query, await answer_filter(s, scope=me.scope, **query.answer_filters())
        except ReportFilterError as exc:
            raise HTTPException(422, str(exc)) from None

    async def _report(s: AsyncSession, me: StaffPrincipal, filters: Filters, builder: Builder) -> dict[str, Any]:
        query, _ = await _checked(s, me, filters)
        try:
            return await builder(s, scope=me.scope, **query.report_filters())
        except ReportFilterError as exc:
            raise HTTPException(422, str(exc)) from None

    @router.get("/figures.xlsx", responses=bad_filter, response_class=Response)
    async def figures_xlsx(
        me: CurrentStaff, s: DbSession, container: AppContainer, filters: Filters, builder: Builder
    ) -> Response:
        report = await _report(s, me, filters, builder)
        out = io.BytesIO()  # figures are a few hundred rows: memory is fine here
        write_figures_xlsx(report, out)
        name = f"回访报表-{_stamp(container.clock())}.xlsx"
        return Response(out.getvalue(), media_type=XLSX, headers={"Content-Disposition": attachment(name)})

    @router.get("/figures.csv", responses=bad_filter, response_class=Response)
    async def figures_csv(
        me: CurrentStaff, s: DbSession, container: AppContainer, filters: Filters, builder: Builder
    ) -> Response:
        report = await _report(s, me, filters, builder)
        text = io.StringIO(newline="")
        write_figures_csv(report, text)
        name = f"回访报表-{_stamp(container.clock())}.csv"
        return Response(text.getvalue().encode(), media_type=CSV, headers={"Content-Disposition": attachment(name)})

    @router.get("/report.docx", responses=bad_filter, response_class=Response)
    async def report_docx(
        me: CurrentStaff, s: DbSession, container: AppContainer, filters: Filters, builder: Builder
    ) -> Response:
        """The written report (summary and tables) as Word, as `huifang report --format docx`."""
        report = await _report(s, me, filters, builder)
        with tempfile.TemporaryDirectory() as tmp:  # python-docx saves to a path
            path = Path(tmp) / "report.docx"
            write_docx(report, path)
            body = path.read_bytes()
        name = f"回访报告-{_stamp(container.clock())}.docx"
        return Response(body, media_type=DOCX, headers={"Content-Disposition": attachment(name)})

    async def _audited(
        s: AsyncSession, me: StaffPrincipal, container: AppContainer, fmt: str, query: ReportQuery
    ) -> None:
        # A bulk copy of what respondents said leaves the service: who took it, and which.
        data = {"format": fmt, **{k: str(v) for k, v in query.answer_filters().items() if v is not None}}
        await record_admin_action(
            s, actor=me, action="reports.export_answers", subject_type="answers", subject_id=fmt,
            data=data, now=container.clock(),
        )  # fmt: skip

    @router.get("/answers.csv", responses=bad_filter, response_class=StreamingResponse)
    async def answers_csv(
        me: CurrentHandler, s: DbSession, container: AppContainer, filters: Filters
    ) -> StreamingResponse:
        query, where = await _checked(s, me, filters)
        await _audited(s, me, container, "csv", query)

        async def body() -> AsyncIterator[bytes]:
            # Its own transaction: the route's session is committed before the body is sent.
            async with container.db.transaction() as reading:
                async for piece in answers_csv_chunks(reading, where):
                    yield piece

        name = f"回访答案-{_stamp(container.clock())}.csv"
        return StreamingResponse(body(), media_type=CSV, headers={"Content-Disposition": attachment(name)})

    @router.get("/answers.xlsx", responses=bad_filter, response_class=StreamingResponse)
    async def answers_xlsx(
        me: CurrentHandler, s: DbSession, container: AppContainer, filters: Filters
    ) -> StreamingResponse:
        query, where = await _checked(s, me, filters)
        await _audited(s, me, container, "xlsx", query)

        async def body() -> AsyncIterator[bytes]:
            async with container.db.transaction() as reading:
                async for piece in answers_xlsx_chunks(reading, where):
                    yield piece

        name = f"回访答案-{_stamp(container.clock())}.xlsx"
        return StreamingResponse(body(), media_type=XLSX, headers={"Content-Disposition": attachment(name)})

    return router


__all__ = ["attachment", "reports_exports_router"]
