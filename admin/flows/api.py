"""/api/v1/flows: the API of the flow editor.

Any staff member validates drafts and reads the flows their organisation sees (shared ones,
those of the organisations above, which serve it, and those under it); a flow outside that
is 404. Publishing, rolling back and copying need an admin, for an organisation in their
scope; a shared flow only an admin of a root organisation changes. A draft with errors is
never stored (422, each error with its line). Every change is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from admin.auth.deps import AppContainer, CurrentAdmin, CurrentStaff, DbSession
from admin.flows.drafts import error_list
from admin.flows.schemas import (
    CopyIn,
    DraftIn,
    FlowBrief,
    FlowErrorRead,
    FlowRead,
    Published,
    PublishIn,
    RollbackIn,
    ValidationRead,
    VersionRead,
)
from bot.services import flow_versions as service
from bot.services.audit import record_admin_action
from bot.services.staff import StaffPrincipal

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an admin, or the flow is another organisation's to change"},
    404: {"description": "No such flow, version or organisation in your scope"},
    409: {"description": "The flow id belongs to another organisation (or exists already, for a copy)"},
    422: {"description": "The flow file has errors, each with its line", "model": list[FlowErrorRead]},
}


def _errors(errors: list[Any]) -> list[dict[str, Any]]:
    return error_list(errors)  # by line, with their Chinese


def raise_for(exc: Exception) -> NoReturn:
    if isinstance(exc, service.FlowFileError):
        raise HTTPException(422, _errors(exc.errors)) from exc
    if isinstance(exc, service.FlowNotFound):
        raise HTTPException(404, str(exc)) from exc
    if isinstance(exc, service.FlowNotYours):
        raise HTTPException(403, str(exc)) from exc
    if isinstance(exc, service.FlowBelongsElsewhere):
        raise HTTPException(409, str(exc)) from exc
    raise exc


_FAILURES = (service.FlowFileError, service.FlowNotFound, service.FlowNotYours, service.FlowBelongsElsewhere)


def flows_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["flows"])

    async def audited(
        s: DbSession, me: StaffPrincipal, c: AppContainer, action: str, done: service.PublishedFlow, **data: Any
    ) -> JSONResponse:
        # An unchanged publish stores nothing, but who tried it is still worth knowing.
        await record_admin_action(
            s, actor=me, action=action, subject_type="flow", subject_id=done.code,
            data={"version": done.version, "created": done.created, "owner": done.organisation, **data},
            now=c.clock(),
        )  # fmt: skip
        body = Published(id=done.code, version=done.version, created=done.created, organisation=done.organisation)
        return JSONResponse(body.model_dump(mode="json"), status_code=201 if done.created else 200)

    @router.post("/flows/validate", response_model=ValidationRead)
    async def validate(body: DraftIn, me: CurrentStaff) -> ValidationRead:
        """Check a draft as publishing would, with the line of each error; stores nothing."""
        flow, errors = service.validate_draft(body.name, body.text)
        brief = FlowBrief(id=flow.id, category=flow.category.code, questions=len(flow.questions)) if flow else None
        return ValidationRead(ok=flow is not None, errors=[FlowErrorRead(**e) for e in _errors(errors)], flow=brief)

    @router.post("/flows", response_model=Published, status_code=201, responses=_ERRORS)
    async def publish(body: PublishIn, me: CurrentAdmin, s: DbSession, c: AppContainer) -> JSONResponse:
        """Publish a flow for an organisation in your scope (default: your own); 200 with
        created=false when the content equals the latest version."""
        owner = None if body.shared else body.organisation or me.organisation_code
        try:
            done = await service.publish_draft(
                s, me.scope, text=body.text, name=body.name, organisation=owner, now=c.clock()
            )
        except _FAILURES as exc:
            raise_for(exc)
        return await audited(s, me, c, "flow_published", done)

    @router.get("/flows", response_model=list[FlowRead])
    async def list_flows(me: CurrentStaff, s: DbSession) -> list[FlowRead]:
        return [
            FlowRead(
                id=f.code, category=f.category, kind=f.kind, title=f.title_zh, organisation=f.organisation,
                version=f.version, published_at=f.published_at, open_sessions=f.open_sessions,
            )  # fmt: skip
            for f in await service.visible_flows(s, me.scope)
        ]

    @router.get("/flows/{flow_id}/versions", response_model=list[VersionRead], responses={404: _ERRORS[404]})
    async def versions(flow_id: str, me: CurrentStaff, s: DbSession) -> list[VersionRead]:
        try:
            found = await service.flow_versions(s, me.scope, flow_id)
        except service.FlowNotFound as exc:
            raise_for(exc)
        return [VersionRead(version=v.version, created_at=v.created_at, content_hash=v.content_hash,
                            source_name=v.source_name) for v in found]  # fmt: skip

    @router.get("/flows/{flow_id}/versions/{number}/source", response_class=PlainTextResponse,
                responses={404: _ERRORS[404]})  # fmt: skip
    async def source(flow_id: str, number: int, me: CurrentStaff, s: DbSession) -> PlainTextResponse:
        try:
            text, name = await service.version_source(s, me.scope, flow_id, number)
        except service.FlowNotFound as exc:
            raise_for(exc)
        media = "application/json" if name.endswith(".json") else "application/yaml"
        return PlainTextResponse(text, media_type=f"{media}; charset=utf-8")

    @router.get("/flows/{flow_id}/diff", response_class=PlainTextResponse, responses={404: _ERRORS[404]})
    async def diff(
        flow_id: str,
        me: CurrentStaff,
        s: DbSession,
        a: Annotated[int, Query(alias="from", ge=1, description="the older version")],
        b: Annotated[int, Query(alias="to", ge=1, description="the newer version")],
    ) -> PlainTextResponse:
        """A unified diff of the two versions' sources (empty when they are the same)."""
        try:
            text = await service.diff_versions(s, me.scope, flow_id, a, b)
        except service.FlowNotFound as exc:
            raise_for(exc)
        return PlainTextResponse(text, media_type="text/x-diff; charset=utf-8")

    @router.post("/flows/{flow_id}/rollback", response_model=Published, status_code=201, responses=_ERRORS)
    async def rollback(flow_id: str, body: RollbackIn, me: CurrentAdmin, s: DbSession, c: AppContainer) -> JSONResponse:
        """Make version `version`'s content the newest version; sessions under way keep theirs."""
        try:
            done = await service.rollback(s, me.scope, flow_id, body.version, now=c.clock())
        except _FAILURES as exc:
            raise_for(exc)
        return await audited(s, me, c, "flow_rolled_back", done, to_content_of=body.version)

    @router.post("/flows/{flow_id}/copy", response_model=Published, status_code=201, responses=_ERRORS)
    async def copy(flow_id: str, body: CopyIn, me: CurrentAdmin, s: DbSession, c: AppContainer) -> JSONResponse:
        """Copy a flow you can see (typically a shared one) under a new id for an organisation
        in your scope (default: your own), where it replaces the flow of its category."""
        owner = body.organisation or me.organisation_code
        try:
            done = await service.copy_flow(s, me.scope, flow_id, new_id=body.new_id, organisation=owner, now=c.clock())
        except _FAILURES as exc:
            raise_for(exc)
        return await audited(s, me, c, "flow_copied", done, copied_from=flow_id)

    return router


__all__ = ["flows_api_router"]
