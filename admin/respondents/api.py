"""/api/v1/respondents: search the respondents in the caller's scope, and read one
person's history. Every role reads; a person outside the scope answers 404, as one that
does not exist. Phones are whole only for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from admin.auth.deps import AppContainer, CurrentStaff, DbSession
from admin.respondents import convert
from admin.respondents.schemas import RespondentDetail, RespondentList
from bot.services.catalog import category_labels
from bot.services.respondent_views import find_respondents, respondent_history

NOT_FOUND = "没有这个受访者 no such respondent"


def respondents_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["respondents"])

    @router.get("/respondents", response_model=RespondentList)
    async def list_respondents(
        me: CurrentStaff,
        s: DbSession,
        container: AppContainer,
        q: Annotated[
            str | None,
            Query(
                max_length=100,
                description='words of the name, its pinyin ("zsf", "zhangsan"), or a phone\'s last 4 digits or number',
            ),
        ] = None,
        category: Annotated[str | None, Query(max_length=64, description="a category code")] = None,
        organisation: Annotated[
            str | None, Query(max_length=64, description="an organisation code: it and those under it")
        ] = None,
        include_tests: Annotated[bool, Query(description="also simulator and staff test respondents")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> RespondentList:
        page = await find_respondents(
            s, me.scope, full_phone=me.is_admin, q=q, category=category, organisation=organisation,
            include_tests=include_tests, limit=limit, offset=offset,
        )  # fmt: skip
        return convert.respondent_list(page, await category_labels(s, container.flows))

    @router.get(
        "/respondents/{respondent_id}",
        response_model=RespondentDetail,
        responses={404: {"description": "No such respondent in your organisation's scope"}},
    )
    async def get_respondent(
        respondent_id: int, me: CurrentStaff, s: DbSession, container: AppContainer
    ) -> RespondentDetail:
        history = await respondent_history(s, me.scope, respondent_id, full_phone=me.is_admin)
        if history is None:
            raise HTTPException(404, NOT_FOUND)
        return convert.respondent_detail(history, await category_labels(s, container.flows))

    return router


__all__ = ["respondents_api_router"]
