"""Where the console's report pages and figure downloads get a report from:
`bot.services.reports.build_report`, as a dependency so that tests can also render the
report JSON contract's example (every kind of question at once) through
FastAPI's dependency overrides. A filter the report refuses is a ReportFilterError, shown
like the pages' own checks."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.report_exports import ReportFilterError
from bot.services.reports import ReportError, build_report


class ReportBuilder(Protocol):
    def __call__(self, session: AsyncSession, *, scope: Any, **filters: Any) -> Awaitable[dict[str, Any]]: ...


async def _build_report(session: AsyncSession, *, scope: Any, **filters: Any) -> dict[str, Any]:
    try:
        return await build_report(session, scope=scope, **filters)
    except ReportError as exc:
        raise ReportFilterError(str(exc)) from None


def report_builder() -> ReportBuilder:
    return _build_report


Builder = Annotated[ReportBuilder, Depends(report_builder)]
