"""The report filters as a page's GET form or a download's query string send them, under
the names GET /api/v1/reports takes: every field may come empty (meaning "any"); wrong
values are refused in Chinese and English."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query

from bot.services.report_exports import ReportFilterError

CROSSTAB_BY = {
    "category": ("类别", "category"),
    "organisation": ("机构", "organisation"),
    "tag": ("标签", "tag"),
    "channel": ("渠道", "channel"),
}


@dataclass(frozen=True, slots=True)
class ReportQuery:
    flow_id: int | str | None = None  # a flow's id, or its code
    category: str | None = None
    org: str | None = None
    campaign_id: int | None = None
    since: date | None = None
    until: date | None = None
    crosstab_by: str | None = None
    question: str | None = None  # the question to cross-tab

    def report_filters(self) -> dict[str, Any]:
        """build_report's keyword arguments."""
        return asdict(self)

    def answer_filters(self) -> dict[str, Any]:
        """answer_filter's keyword arguments (no cross-tab for raw answers)."""
        return {k: v for k, v in asdict(self).items() if k not in ("crosstab_by", "question")}

    def query_string(self) -> str:
        """The filters as a URL's query under the names GET /api/v1/reports takes too, for
        the download links of the page."""
        names = {"crosstab_by": "by"}
        return urlencode({names.get(k, k): str(v) for k, v in asdict(self).items() if v is not None})


@dataclass(frozen=True, slots=True)
class RawFilters:
    flow_id: str = ""
    category: str = ""
    org: str = ""
    campaign_id: str = ""
    since: str = ""
    until: str = ""
    by: str = ""
    question: str = ""

    def parse(self) -> ReportQuery:
        """Raises ReportFilterError naming the field that is wrong."""
        flow = self.flow_id.strip()
        by, question = _crosstab(self.by), self.question.strip() or None
        if (by is None) != (question is None):
            raise ReportFilterError("交叉分析需要同时选择维度和题目 a cross-tab needs both by and question")
        return ReportQuery(
            flow_id=int(flow) if flow.isascii() and flow.isdigit() else flow or None,
            category=self.category.strip() or None,
            org=self.org.strip() or None,
            campaign_id=_number(self.campaign_id, "活动", "campaign_id"),
            since=_day(self.since, "开始日期", "since"),
            until=_day(self.until, "结束日期", "until"),
            crosstab_by=by,
            question=question,
        )


def _number(value: str, zh: str, en: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise ReportFilterError(f"{zh}应为编号 {en} must be a number: {value}")
    return int(value)


def _day(value: str, zh: str, en: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportFilterError(f"{zh}应为 YYYY-MM-DD {en} must be a date YYYY-MM-DD: {value}") from None


def _crosstab(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value not in CROSSTAB_BY:
        raise ReportFilterError(
            f"交叉分析只能按 {'/'.join(CROSSTAB_BY)} cross-tab by one of {', '.join(CROSSTAB_BY)}: {value}"
        )
    return value


def raw_filters(
    flow_id: Annotated[str, Query(max_length=64, description="a flow's id or code")] = "",
    category: Annotated[str, Query(max_length=64, description="a category code")] = "",
    org: Annotated[
        str, Query(max_length=64, description="an organisation code in your scope: it and those under it")
    ] = "",
    campaign_id: Annotated[str, Query(max_length=20, description="a campaign's id")] = "",
    since: Annotated[str, Query(max_length=10, description="first day, YYYY-MM-DD (Asia/Shanghai)")] = "",
    until: Annotated[str, Query(max_length=10, description="last day, YYYY-MM-DD (Asia/Shanghai), included")] = "",
    by: Annotated[str, Query(max_length=20, description="cross-tab by category, organisation, tag or channel")] = "",
    question: Annotated[str, Query(max_length=64, description="the question id to cross-tab")] = "",
) -> RawFilters:
    return RawFilters(flow_id, category, org, campaign_id, since, until, by, question)


Filters = Annotated[RawFilters, Depends(raw_filters)]
