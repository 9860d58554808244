"""Where the console's report pages and figure downloads get a report from.

`bot.services.reports.build_report` (the report JSON contract) comes with the reports-core
branch. Until that is merged the import fails and the pages answer 500: there is no stand-in
report in production. Tests replace `report_builder` through FastAPI's dependency overrides
with a fixture of the contract's shape.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.report_exports import ReportFilterError


class ReportBuilder(Protocol):
    def __call__(self, session: AsyncSession, *, scope: Any, **filters: Any) -> Awaitable[dict[str, Any]]: ...


async def _build_report(session: AsyncSession, *, scope: Any, **filters: Any) -> dict[str, Any]:
    from bot.services.reports import ReportError, build_report  # type: ignore[import-not-found]  # reports-core

    try:
        report: dict[str, Any] = await build_report(session, scope=scope, **filters)
    except ReportError as exc:  # a filter the report refuses: shown like the pages' own checks
        raise ReportFilterError(str(exc)) from None
    return report


def report_builder() -> ReportBuilder:
    return _build_report


Builder = Annotated[ReportBuilder, Depends(report_builder)]
