"""The console's flow pages: the flows a reader's organisation sees, by category and owner,
with their versions; one flow with its diagram, its versions, a diff, rollback, copy and an
XLSForm export; the editor (validated as one types through /api/v1/flows/validate, with the
diagram and a simulator of the draft); importing an XLSForm workbook with a preview.

Every role reads (viewers too: the API lets them, and reading is their role); only admins
edit, publish, roll back, copy and import, for organisations in their scope. Every change is
audited in the transaction that makes it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from admin.auth.deps import AppContainer, ConsoleAdmin, ConsoleStaff, DbSession
from admin.flows import drafts
from admin.flows.schemas import MAX_TEXT, DiagramIn, SimulateIn
from admin.pages import render
from bot.services import flow_versions as service
from bot.services.audit import record_admin_action
from bot.services.catalog import category_labels
from bot.services.staff import StaffPrincipal
from bot.services.xlsform import IMPORTED, MAX_BYTES, XlsFormError, flow_yaml, import_workbook, workbook_bytes
from flows.diagram import flow_svg
from flows.schema import Flow

# flow_svg escapes every text it draws (ids, prompts, conditions), so its markup is safe to
# place as is: Markup, not |safe in a template.
NOT_FOUND = "没有这个流程或版本 no such flow or version in your scope"
NOTE_MAX = 500
FLOW_ID = r"^[a-z][a-z0-9_]{0,62}$"
RELATIONS = {
    "own": ("本机构", "ours"),
    "above": ("上级机构（适用于本机构）", "from above, serves us"),
    "shared": ("共享默认", "shared default"),
    "below": ("下级机构", "an organisation under us"),
}
SHARED = "__shared__"  # the organisation select's value for a shared flow
NEW_FLOW = """\
id: my_survey
version: 1
category: {code: my_survey, name: {zh: 新类别, en: New category}}
title: {zh: 新问卷, en: New survey}
intro: {zh: 您好！这里是红十字会。, en: Hello from the Red Cross.}
consent:
  zh: 您愿意回答几个简短的问题吗？
  en: Would you answer a few short questions?
declined: {zh: 好的，不打扰您了。, en: That is fine.}
closing: {zh: 问卷完成了，非常感谢您！, en: Thank you!}
questions:
  - id: overall
    type: rating
    prompt:
      zh: 您总体满意吗？
      en: Overall, were you satisfied?
    options:
      - {code: good, label: {zh: 满意, en: Satisfied}, score: 2}
      - {code: poor, label: {zh: 不满意, en: Not satisfied}, score: 1}
    next:
      - when: {question: overall, any_of: [poor]}
        goto: why
      - goto: end
  - id: why
    type: text
    optional: true
    prompt: {zh: 哪里让您不满意？, en: What was not good}
"""


def _not_found(request: Request, me: StaffPrincipal) -> HTMLResponse:
    return render(request, "error.html", me=me, message=NOT_FOUND, status_code=404)


def _refused(request: Request, me: StaffPrincipal, message: str, status: int) -> HTMLResponse:
    return render(request, "error.html", me=me, message=message, status_code=status)


async def _owner_choices(s: Any, me: StaffPrincipal) -> list[tuple[str, str]]:
    choices = await service.organisations_to_publish_for(s, me.scope)
    if service.is_root(me.scope):
        choices.append((SHARED, "共享：所有机构 shared by every organisation"))
    return choices


def flows_pages_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    @router.get("/flows", response_class=HTMLResponse)
    async def flow_list(request: Request, me: ConsoleStaff, s: DbSession, c: AppContainer) -> HTMLResponse:
        flows = await service.visible_flows(s, me.scope)
        owners = await service.owners_by_code(s, {f.organisation for f in flows if f.organisation})
        categories = await category_labels(s, c.flows)
        by_category: dict[str, list[dict[str, Any]]] = {}
        for f in sorted(flows, key=lambda f: (f.category, f.code)):
            name, path = owners.get(f.organisation, (None, None)) if f.organisation else (None, None)
            if f.organisation is None:
                relation = "shared"
            elif f.organisation == me.organisation_code:
                relation = "own"
            elif path is not None and me.organisation_path.startswith(path):
                relation = "above"
            else:
                relation = "below"
            detail = await service.flow_detail(s, me.scope, f.code)
            by_category.setdefault(f.category, []).append(
                {"flow": f, "owner_name": name, "relation": relation, "versions": detail.versions}
            )
        return render(
            request, "flows/list.html", me=me, by_category=by_category, CATEGORY=categories, RELATIONS=RELATIONS
        )

    @router.get("/flows/new", response_class=HTMLResponse)
    async def new_flow(request: Request, me: ConsoleAdmin, s: DbSession) -> HTMLResponse:
        return render(
            request, "flows/edit.html", me=me, code=None, text=NEW_FLOW, errors=[], note="",
            owners=await _owner_choices(s, me), owner=me.organisation_code, based_on=None,
        )  # fmt: skip

    @router.get("/flows/import", response_class=HTMLResponse)
    async def import_form(request: Request, me: ConsoleAdmin, s: DbSession) -> HTMLResponse:
        return render(
            request, "flows/import.html", me=me, preview=None, errors=[], owners=await _owner_choices(s, me),
            owner=me.organisation_code, max_mb=MAX_BYTES // (1024 * 1024),
        )  # fmt: skip

    @router.post("/flows/import", response_class=HTMLResponse)
    async def import_preview(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        workbook: UploadFile,
        organisation: Annotated[str, Form(max_length=64)] = "",
    ) -> HTMLResponse:
        """Reads the workbook and shows what would be published; stores nothing."""
        owners = await _owner_choices(s, me)
        data = await workbook.read(MAX_BYTES + 1)
        name = workbook.filename or "form.xlsx"
        context: dict[str, Any] = {
            "owners": owners, "owner": organisation, "max_mb": MAX_BYTES // (1024 * 1024), "file_name": name,
        }  # fmt: skip
        try:
            definition = import_workbook(data)
        except XlsFormError as exc:
            errors = [{"sheet": e.sheet, "row": e.row, "message": e.message} for e in exc.errors]
            return render(request, "flows/import.html", me=me, preview=None, errors=errors, status_code=422, **context)
        text = flow_yaml(definition)
        flow, problems = service.validate_draft(f"{drafts.stem(name)}.yaml", text)
        if flow is None:
            errors = [{"sheet": "flow", "row": e.line, "message": f"{e.path}: {e.message}"} for e in problems]
            return render(request, "flows/import.html", me=me, preview=None, errors=errors, status_code=422, **context)
        return render(
            request, "flows/import.html", me=me, preview=flow, text=text, errors=[],
            svg=Markup(flow_svg(flow, id_prefix="import")), **context,
        )  # fmt: skip

    @router.post("/flows/import/confirm", response_model=None)
    async def import_confirm(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        c: AppContainer,
        text: Annotated[str, Form(max_length=MAX_TEXT)],
        file_name: Annotated[str, Form(max_length=200)],
        organisation: Annotated[str, Form(max_length=64)] = "",
        note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    ) -> Response:
        """Publishes what the preview showed (checked again: the text came back from the browser)."""
        name = f"{drafts.stem(file_name)}.yaml"
        owner = None if organisation == SHARED else organisation or me.organisation_code
        try:
            done = await service.publish_draft(s, me.scope, text=text, name=name, organisation=owner, now=c.clock())
        except service.FlowFileError as exc:
            return render(
                request, "flows/import.html", me=me, preview=None, owners=await _owner_choices(s, me),
                owner=organisation, max_mb=MAX_BYTES // (1024 * 1024), file_name=file_name,
                errors=[{"sheet": "flow", "row": e.line, "message": f"{e.path}: {e.message}"} for e in exc.errors],
                status_code=422,
            )  # fmt: skip
        except (service.FlowNotFound, service.FlowNotYours, service.FlowBelongsElsewhere) as exc:
            return _refused(request, me, str(exc), drafts.status_of(exc))
        await record_admin_action(
            s, actor=me, action=IMPORTED, subject_type="flow", subject_id=done.code,
            data={"version": done.version, "created": done.created, "owner": done.organisation,
                  "file": file_name, "format": "xlsform", "note": note.strip() or None},
            now=c.clock(),
        )  # fmt: skip
        return RedirectResponse(f"/console/flows/{done.code}?published={done.version}", status_code=303)

    @router.post("/flows/draft/diagram")
    async def draft_diagram(body: DiagramIn, me: ConsoleStaff) -> dict[str, Any]:
        """The draft's diagram (SVG markup), or its errors; stores nothing."""
        flow, errors = service.validate_draft("draft.yaml", body.text)
        if flow is None:
            return {"ok": False, "svg": None, "errors": drafts.error_list(errors)}
        return {"ok": True, "svg": flow_svg(flow, id_prefix="draft"), "errors": []}

    @router.post("/flows/draft/simulate")
    async def draft_simulate(body: SimulateIn, me: ConsoleStaff, c: AppContainer) -> dict[str, Any]:
        """The draft's conversation with what the tester typed; stores nothing."""
        return drafts.simulate(body, now=c.clock(), config=c.runtime.config)

    @router.post("/flows/publish", response_model=None)
    async def publish(
        request: Request,
        me: ConsoleAdmin,
        s: DbSession,
        c: AppContainer,
        text: Annotated[str, Form(max_length=MAX_TEXT)],
        organisation: Annotated[str, Form(max_length=64)] = "",
        note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
        based_on: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        owner = None if organisation == SHARED else organisation or me.organisation_code
        try:
            done = await service.publish_draft(s, me.scope, text=text, name=None, organisation=owner, now=c.clock())
        except service.FlowFileError as exc:
            # The editor again, with the draft as typed and its errors at their lines.
            return render(
                request, "flows/edit.html", me=me, code=based_on or None, text=text, note=note,
                errors=drafts.error_list(exc.errors), owners=await _owner_choices(s, me), owner=organisation,
                based_on=based_on or None, status_code=422,
            )  # fmt: skip
        except (service.FlowNotFound, service.FlowNotYours, service.FlowBelongsElsewhere) as exc:
            return _refused(request, me, str(exc), drafts.status_of(exc))
        await record_admin_action(
            s, actor=me, action="flow_published", subject_type="flow", subject_id=done.code,
            data={"version": done.version, "created": done.created, "owner": done.organisation,
                  "note": note.strip() or None},
            now=c.clock(),
        )  # fmt: skip
        state = "published" if done.created else "unchanged"
        return RedirectResponse(f"/console/flows/{done.code}?{state}={done.version}", status_code=303)

    @router.get("/flows/{code}", response_class=HTMLResponse)
    async def flow_page(
        request: Request,
        code: str,
        me: ConsoleStaff,
        s: DbSession,
        version: Annotated[int | None, Query(ge=1)] = None,
        published: Annotated[int | None, Query(ge=1)] = None,
        unchanged: Annotated[int | None, Query(ge=1)] = None,
    ) -> HTMLResponse:
        try:
            detail = await service.flow_detail(s, me.scope, code)
            shown = version or detail.versions[0].version
            flow = await service.version_flow(s, me.scope, code, shown)
            source, _ = await service.version_source(s, me.scope, code, shown)
        except service.FlowNotFound:
            return _not_found(request, me)
        return render(
            request, "flows/detail.html", me=me, d=detail, shown=shown, flow=flow, source=source,
            svg=Markup(flow_svg(flow, id_prefix=f"v{shown}")), published=published, unchanged=unchanged,
            RELATIONS=RELATIONS, suggested_copy=drafts.suggested_copy_id(code, me.organisation_code),
        )  # fmt: skip

    @router.get("/flows/{code}/edit", response_class=HTMLResponse)
    async def edit(request: Request, code: str, me: ConsoleAdmin, s: DbSession) -> HTMLResponse:
        try:
            detail = await service.flow_detail(s, me.scope, code)
            source, _ = await service.version_source(s, me.scope, code, detail.versions[0].version)
        except service.FlowNotFound:
            return _not_found(request, me)
        if not detail.may_change:
            return _refused(request, me, drafts.COPY_FIRST, 403)
        owner = detail.organisation or SHARED
        return render(
            request, "flows/edit.html", me=me, code=code, text=source, errors=[], note="",
            owners=await _owner_choices(s, me), owner=owner, based_on=code,
        )  # fmt: skip

    @router.get("/flows/{code}/diff", response_class=HTMLResponse)
    async def diff(
        request: Request,
        code: str,
        me: ConsoleStaff,
        s: DbSession,
        a: Annotated[int, Query(alias="from", ge=1)],
        b: Annotated[int, Query(alias="to", ge=1)],
    ) -> HTMLResponse:
        try:
            detail = await service.flow_detail(s, me.scope, code)
            text = await service.diff_versions(s, me.scope, code, a, b)
        except service.FlowNotFound:
            return _not_found(request, me)
        return render(request, "flows/diff.html", me=me, d=detail, a=a, b=b, rows=drafts.diff_rows(text))

    @router.get("/flows/{code}/versions/{number}/xlsform")
    async def export(request: Request, code: str, number: int, me: ConsoleStaff, s: DbSession) -> Response:
        try:
            flow: Flow = await service.version_flow(s, me.scope, code, number)
        except service.FlowNotFound:
            return _not_found(request, me)
        name = f"{code}-v{number}.xlsx"
        return Response(
            workbook_bytes(flow),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    @router.post("/flows/{code}/rollback", response_model=None)
    async def rollback(
        request: Request,
        code: str,
        me: ConsoleAdmin,
        s: DbSession,
        c: AppContainer,
        version: Annotated[int, Form(ge=1)],
    ) -> Response:
        try:
            done = await service.rollback(s, me.scope, code, version, now=c.clock())
        except (service.FlowNotFound, service.FlowNotYours) as exc:
            return _refused(request, me, str(exc), drafts.status_of(exc))
        await record_admin_action(
            s, actor=me, action="flow_rolled_back", subject_type="flow", subject_id=done.code,
            data={"version": done.version, "created": done.created, "owner": done.organisation,
                  "to_content_of": version},
            now=c.clock(),
        )  # fmt: skip
        state = "published" if done.created else "unchanged"
        return RedirectResponse(f"/console/flows/{code}?{state}={done.version}", status_code=303)

    @router.post("/flows/{code}/copy", response_model=None)
    async def copy(
        request: Request,
        code: str,
        me: ConsoleAdmin,
        s: DbSession,
        c: AppContainer,
        new_id: Annotated[str, Form(max_length=63)],
        organisation: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        if not drafts.FLOW_ID_RE.match(new_id):
            return _refused(request, me, drafts.BAD_ID, 422)
        try:
            done = await service.copy_flow(
                s, me.scope, code, new_id=new_id, organisation=organisation or me.organisation_code, now=c.clock()
            )
        except (service.FlowNotFound, service.FlowNotYours, service.FlowBelongsElsewhere, service.FlowFileError) as exc:
            return _refused(request, me, str(exc), drafts.status_of(exc))
        await record_admin_action(
            s, actor=me, action="flow_copied", subject_type="flow", subject_id=done.code,
            data={"version": done.version, "created": done.created, "owner": done.organisation, "copied_from": code},
            now=c.clock(),
        )  # fmt: skip
        return RedirectResponse(f"/console/flows/{done.code}/edit", status_code=303)

    return router


__all__ = ["flows_pages_router"]
