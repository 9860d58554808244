"""/api/v1/reports: the report JSON (the contract bot.services.reports.build_report
returns), for every role, over the caller's organisation scope only. An organisation, flow,
campaign or category outside it answers 404, as one that does not exist; bad dates or
cross-tab parameters 422."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from admin.auth.deps import AppContainer, CurrentStaff, DbSession
from bot.services.reports import ReportError, ReportNotFound, build_report, parse_day


def reports_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["reports"])

    @router.get(
        "/reports",
        responses={404: {"description": "An organisation, flow, campaign or category not in the caller's scope"},
                   422: {"description": "Bad dates or cross-tab parameters"}},
    )  # fmt: skip
    async def get_report(
        me: CurrentStaff,
        s: DbSession,
        container: AppContainer,
        flow_id: Annotated[str | None, Query(max_length=64, description="a flow's id or code")] = None,
        category: Annotated[str | None, Query(max_length=64, description="a category code")] = None,
        org: Annotated[
            str | None, Query(max_length=64, description="an organisation code: it and those under it")
        ] = None,
        campaign_id: Annotated[int | None, Query(ge=1)] = None,
        since: Annotated[str | None, Query(max_length=32, description="first day, YYYY-MM-DD (Asia/Shanghai)")] = None,
        until: Annotated[str | None, Query(max_length=32, description="last day, YYYY-MM-DD, included")] = None,
        by: Annotated[str | None, Query(description="cross-tab by category, organisation, tag or channel")] = None,
        question: Annotated[str | None, Query(max_length=64, description="the question id to cross-tab")] = None,
    ) -> dict[str, Any]:
        try:
            return await build_report(
                s, scope=me.scope, flow_id=flow_id or None, category=category or None, org=org or None,
                campaign_id=campaign_id,
                since=parse_day(since, "since") if since else None,
                until=parse_day(until, "until") if until else None,
                crosstab_by=by or None, question=question or None, now=container.clock(),
            )  # fmt: skip
        except ReportNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except ReportError as exc:
            raise HTTPException(422, str(exc)) from None

    return router


__all__ = ["reports_api_router"]
