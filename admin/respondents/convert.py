"""The service's plain views as the API's schemas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from admin.respondents.schemas import (
    HistoryAnswerRead,
    HistorySessionRead,
    HistoryTicketRead,
    PersonRead,
    RespondentDetail,
    RespondentList,
    RespondentSummary,
)
from bot.services.respondent_views import RespondentHistory, RespondentPage
from flows.schema import I18nText


def category_name(code: str, names: Mapping[str, I18nText]) -> str:
    return names[code].zh if code in names else code


def respondent_list(page: RespondentPage, names: Mapping[str, I18nText]) -> RespondentList:
    return RespondentList(
        items=[
            RespondentSummary(
                id=r.id,
                name=r.name,
                phone=r.phone,
                category=r.category,
                category_name=category_name(r.category, names),
                organisation=r.organisation_code,
                organisation_name=r.organisation_name,
                opted_out=r.opted_out,
                unreachable=r.unreachable,
                is_test=r.is_test,
                created_at=r.created_at,
            )  # fmt: skip
            for r in page.rows
        ],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def respondent_detail(h: RespondentHistory, names: Mapping[str, I18nText]) -> RespondentDetail:
    p = h.person
    return RespondentDetail(
        respondent=PersonRead(
            id=p.id,
            name=p.name,
            phone=p.phone,
            category=p.category,
            category_name=category_name(p.category, names),
            organisation=h.organisation_code,
            organisation_name=p.organisation_name,
            channels=p.channels,
            opted_out=p.opted_out,
            unreachable_reason=p.unreachable_reason,
            is_test=p.is_test,
        ),  # fmt: skip
        sessions=[
            HistorySessionRead(
                id=x.id,
                flow=x.flow_code,
                title_zh=x.title_zh,
                title_en=x.title_en,
                version=x.version,
                status=x.status,
                started_at=x.started_at,
                ended_at=x.ended_at,
                answers=[HistoryAnswerRead(**asdict(a)) for a in x.answers],
            )  # fmt: skip
            for x in h.sessions
        ],
        tickets=[HistoryTicketRead(**asdict(t), link=f"/console/tickets/{t.id}") for t in h.tickets],
    )
