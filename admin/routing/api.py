"""/api/v1 for an organisation's admin: its ticket queues (routing and SLAs) and its own
phrases for reading respondents' words (complaint, help, suggestion, none, human).

Admins act on their organisation and the ones under it; an organisation outside that is 404.
Every change is in the audit log with who and when.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from admin.auth.deps import AppContainer, CurrentAdmin, CurrentStaff, DbSession
from bot.services.audit import record_admin_action
from bot.services.organisations import organisation_in_scope
from bot.services.text_kinds import RulesError, current_rules_source, save_rules
from bot.services.ticket_queues import QueueError, add_queue

NO_ORGANISATION = "没有这个机构 no such organisation in your scope"


class QueueCreate(BaseModel):
    organisation: str | None = Field(default=None, description="code; default: your own organisation")
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 30)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 90)
    categories: list[str] | None = Field(default=None, description="None: any category")
    kinds: list[str] | None = Field(default=None, description="complaint, help, human, flagged; None: any")
    priority: int = Field(default=2, ge=1, le=4)


class QueueCreated(BaseModel):
    id: int
    organisation: str
    code: str
    name: str


class RulesIn(BaseModel):
    source: str = Field(max_length=200_000, description="YAML or JSON: complaint, help, suggestion, none, human")


class RulesError422(BaseModel):
    line: int | None
    path: str
    message: str


class RulesRead(BaseModel):
    organisation: str
    source: str | None
    phrases: dict[str, int] = Field(default_factory=dict)


def routing_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["routing"])

    @router.post("/queues", response_model=QueueCreated, status_code=201, responses={404: {}, 422: {}})
    async def create_queue(body: QueueCreate, me: CurrentAdmin, s: DbSession, c: AppContainer) -> QueueCreated:
        code = body.organisation or me.organisation_code
        if await organisation_in_scope(s, code, me.scope) is None:
            raise HTTPException(404, NO_ORGANISATION)
        try:
            queue = await add_queue(
                s, organisation=code, code=body.code, name=body.name,
                first_response_minutes=body.first_response_minutes, resolution_minutes=body.resolution_minutes,
                categories=body.categories, kinds=body.kinds, priority=body.priority, now=c.clock(),
            )  # fmt: skip
        except QueueError as exc:
            raise HTTPException(422, str(exc)) from exc
        await record_admin_action(
            s, actor=me, action="queue_created", subject_type="ticket_queue", subject_id=queue.id,
            data=body.model_dump(), now=c.clock(),
        )  # fmt: skip
        return QueueCreated(id=queue.id, organisation=code, code=queue.code, name=queue.name)

    @router.get("/detection-rules", response_model=RulesRead)
    async def read_rules(me: CurrentStaff, s: DbSession) -> RulesRead:
        return RulesRead(organisation=me.organisation_code, source=await current_rules_source(s, me.organisation_id))

    @router.put("/detection-rules", response_model=RulesRead, responses={422: {"model": list[RulesError422]}})
    async def write_rules(body: RulesIn, me: CurrentAdmin, s: DbSession, c: AppContainer) -> Any:
        try:
            saved = await save_rules(
                s, organisation_id=me.organisation_id, name="rules.yaml", text=body.source,
                by=f"staff:{me.username}", now=c.clock(),
            )  # fmt: skip
        except RulesError as exc:
            raise HTTPException(
                422, [{"line": e.line, "path": e.path, "message": e.message} for e in exc.errors]
            ) from exc
        await record_admin_action(
            s, actor=me, action="detection_rules_saved", subject_type="organisation",
            subject_id=me.organisation_id, data=None, now=c.clock(),
        )  # fmt: skip
        counts = {kind: len(getattr(saved, kind)) for kind in type(saved).model_fields}
        return RulesRead(organisation=me.organisation_code, source=body.source, phrases=counts)

    return router
