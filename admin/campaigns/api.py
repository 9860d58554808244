"""/api/v1/campaigns: list, create, one campaign, its moves and its progress. Every role
reads the campaigns of its organisations; only admins create and move them. A campaign
outside the caller's scope is 404, as one that does not exist."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException

from admin.auth.deps import AppContainer, CurrentAdmin, CurrentStaff, DbSession
from admin.campaigns.schemas import CampaignCreate, CampaignList, CampaignRead, ProgressRead
from bot.services import campaigns
from bot.services.campaigns import CampaignDraft, CampaignError, CampaignNotFound, CampaignStateError

Move = Literal["start", "pause", "resume", "finish"]
_MOVES = {
    "pause": campaigns.pause_campaign,
    "resume": campaigns.resume_campaign,
    "finish": campaigns.finish_campaign,
}


def _http(error: Exception) -> HTTPException:
    if isinstance(error, CampaignNotFound):
        return HTTPException(404, str(error))
    if isinstance(error, CampaignStateError):
        return HTTPException(409, str(error))
    return HTTPException(422, str(error))


def campaigns_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["campaigns"])

    @router.get("/campaigns", response_model=CampaignList)
    async def list_campaigns(me: CurrentStaff, s: DbSession) -> CampaignList:
        return CampaignList(items=[CampaignRead.of(v) for v in await campaigns.list_campaigns(s, me.scope)])

    @router.post("/campaigns", response_model=CampaignRead, status_code=201)
    async def create_campaign(
        body: CampaignCreate, me: CurrentAdmin, s: DbSession, container: AppContainer
    ) -> CampaignRead:
        try:
            view = await campaigns.create_campaign(s, me, CampaignDraft(**body.model_dump()), now=container.clock())
        except CampaignError as error:
            raise _http(error) from None
        return CampaignRead.of(view)

    @router.get("/campaigns/{campaign_id}", response_model=CampaignRead)
    async def get_campaign(campaign_id: int, me: CurrentStaff, s: DbSession) -> CampaignRead:
        try:
            return CampaignRead.of(await campaigns.get_campaign(s, me.scope, campaign_id))
        except CampaignNotFound as error:
            raise _http(error) from None

    @router.get("/campaigns/{campaign_id}/progress", response_model=ProgressRead)
    async def progress(campaign_id: int, me: CurrentStaff, s: DbSession) -> ProgressRead:
        try:
            return ProgressRead.of(await campaigns.campaign_progress(s, me.scope, campaign_id))
        except CampaignNotFound as error:
            raise _http(error) from None

    @router.post(
        "/campaigns/{campaign_id}/{move}",
        response_model=CampaignRead,
        responses={404: {"description": "No such campaign in your scope"}, 409: {"description": "Not in this status"}},
    )
    async def move_campaign(
        campaign_id: int, move: Move, me: CurrentAdmin, s: DbSession, container: AppContainer
    ) -> CampaignRead:
        return await perform(s, me, campaign_id, move, container)

    return router


async def perform(s: DbSession, me: CurrentAdmin, campaign_id: int, move: str, container: AppContainer) -> CampaignRead:
    """One move, for the API and the console's buttons; HTTPException when refused."""
    now = container.clock()
    try:
        if move == "start":
            view, selected = await campaigns.start_campaign(s, me, campaign_id, now=now)
            return CampaignRead.of(view, selected)
        return CampaignRead.of(await _MOVES[move](s, me, campaign_id, now=now))
    except (CampaignError, CampaignNotFound) as error:
        raise _http(error) from None


__all__ = ["campaigns_api_router", "perform"]
