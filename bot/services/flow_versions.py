"""Flows as the admin console's API sees them: validating a draft, publishing it for an
organisation, the versions of a flow and a diff between two, rolling back, copying a flow.

Everything takes the caller's `Scope`. A flow is visible to the staff of a scope when it is
shared, belongs to an organisation on the way up to theirs (it serves them) or to one under
it; anything else answers as if it did not exist. Changing a flow needs more: it must
belong to an organisation in the scope, or be shared and the caller's organisation a root.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from flows.loader import FlowFileError, load_text
from flows.schema import Flow
from flows.source import FlowError
from storage.models import AuditEntry, FlowVersion, Organisation, SurveySession
from storage.models import Flow as FlowRow
from storage.models.survey_session import OPEN_STATUSES
from storage.repositories.audit import AuditRepository
from storage.repositories.flows import FlowBelongsElsewhere, FlowRepository
from storage.repositories.organisations import OrganisationRepository, Scope

__all__ = [
    "FlowBelongsElsewhere",
    "FlowDetail",
    "FlowFileError",
    "FlowNotFound",
    "FlowNotYours",
    "FlowSummary",
    "VersionRead",
    "copy_flow",
    "diff_versions",
    "flow_detail",
    "flow_versions",
    "publish_draft",
    "rollback",
    "validate_draft",
    "version_flow",
    "version_source",
    "visible_flows",
]


class FlowNotFound(LookupError):
    """No such flow (or version) for this caller: outside the scope reads the same."""


class FlowNotYours(PermissionError):
    """Visible, but another organisation's to change (one above, or shared)."""


@dataclass(frozen=True, slots=True)
class FlowSummary:
    code: str
    category: str
    kind: str
    title_zh: str
    organisation: str | None  # code; None: shared
    version: int
    published_at: datetime
    open_sessions: int


@dataclass(frozen=True, slots=True)
class VersionRead:
    version: int
    created_at: datetime
    content_hash: str
    source_name: str


@dataclass(frozen=True, slots=True)
class PublishedFlow:
    code: str
    version: int
    created: bool
    organisation: str | None


def validate_draft(name: str, text: str) -> tuple[Flow | None, list[FlowError]]:
    """Check a draft as publishing would; stores nothing."""
    flow, _, errors = load_text(name, text)
    return flow, errors


def is_root(scope: Scope) -> bool:
    return len(scope.ids_above_and_self()) == 1


async def _owner_in(s: AsyncSession, owner_code: str | None, scope: Scope) -> int | None:
    """The id of the organisation a flow is published for; None for shared. FlowNotFound
    for an organisation outside the scope, FlowNotYours for shared below a root."""
    if owner_code is None:
        if not (scope.path == "/" or is_root(scope)):
            raise FlowNotYours(
                "只有市级管理员可以发布共享流程 only an admin of a root organisation may publish a shared flow"
            )
        return None
    organisation = await OrganisationRepository(s).by_code(owner_code)
    if organisation is None or not (scope.path == "/" or organisation.path.startswith(scope.path)):
        raise FlowNotFound(f"没有这个机构 no such organisation in your scope: {owner_code}")
    return organisation.id


async def _visible_latest(s: AsyncSession, scope: Scope, code: str) -> tuple[FlowVersion, Organisation | None]:
    latest = await FlowRepository(s).latest(code)
    if latest is None:
        raise FlowNotFound(f"没有这个流程 no such flow: {code}")
    owner_id = latest.flow.organisation_id
    owner = await OrganisationRepository(s).get(owner_id) if owner_id is not None else None
    visible = (
        scope.path == "/"
        or owner is None
        or owner.id in scope.ids_above_and_self()
        or owner.path.startswith(scope.path)
    )
    if not visible:
        raise FlowNotFound(f"没有这个流程 no such flow: {code}")
    return latest, owner


def _may_change(scope: Scope, owner: Organisation | None) -> bool:
    if scope.path == "/":
        return True
    return is_root(scope) if owner is None else owner.path.startswith(scope.path)


async def visible_flows(s: AsyncSession, scope: Scope) -> list[FlowSummary]:
    """The latest version of every flow the scope's staff may see, with the number of
    sessions still open on any version of it."""
    latest = await FlowRepository(s).list_latest(visible_to=scope)
    open_rows = await s.execute(
        select(FlowVersion.flow_id, func.count(SurveySession.id))
        .join(SurveySession, SurveySession.flow_version_id == FlowVersion.id)
        .where(SurveySession.status.in_(OPEN_STATUSES))
        .group_by(FlowVersion.flow_id)
    )
    open_by_flow = {flow_id: n for flow_id, n in open_rows}
    owner_ids = {v.flow.organisation_id for v in latest} - {None}
    owners = await s.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(owner_ids)))
    codes = {owner_id: code for owner_id, code in owners}
    return [
        FlowSummary(
            code=v.flow.code,
            category=v.flow.category,
            kind=str(v.definition.get("kind", "survey")),
            title_zh=str((v.definition.get("title") or {}).get("zh", "")),
            organisation=codes.get(v.flow.organisation_id) if v.flow.organisation_id is not None else None,
            version=v.version,
            published_at=v.created_at,
            open_sessions=open_by_flow.get(v.flow_id, 0),
        )
        for v in latest
    ]


async def flow_versions(s: AsyncSession, scope: Scope, code: str) -> list[VersionRead]:
    await _visible_latest(s, scope, code)
    return [
        VersionRead(v.version, v.created_at, v.content_hash, v.source_name)
        for v in await FlowRepository(s).versions(code)
    ]


async def _version(s: AsyncSession, scope: Scope, code: str, number: int) -> FlowVersion:
    await _visible_latest(s, scope, code)
    found = next((v for v in await FlowRepository(s).versions(code) if v.version == number), None)
    if found is None:
        raise FlowNotFound(f"流程 {code} 没有第 {number} 版 flow {code} has no version {number}")
    return found


async def version_source(s: AsyncSession, scope: Scope, code: str, number: int) -> tuple[str, str]:
    """(source text, source name) of one version."""
    found = await _version(s, scope, code, number)
    return found.source, found.source_name


async def diff_versions(s: AsyncSession, scope: Scope, code: str, a: int, b: int) -> str:
    """A unified diff from version a's source to version b's ("" when they are the same)."""
    old, new = await _version(s, scope, code, a), await _version(s, scope, code, b)
    return "".join(
        difflib.unified_diff(_lines(old.source), _lines(new.source), fromfile=f"{code} v{a}", tofile=f"{code} v{b}")
    )


def _lines(text: str) -> list[str]:
    # A source without a final newline would glue its last line to the next hunk header.
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]


async def _publish(
    s: AsyncSession,
    flow: Flow,
    *,
    source: str,
    source_name: str,
    owner_id: int | None,
    owner: str | None,
    now: datetime,
) -> PublishedFlow:
    version, created = await FlowRepository(s).publish(
        flow.model_dump(mode="json"), source=source, source_name=source_name, now=now, organisation_id=owner_id
    )
    return PublishedFlow(flow.id, version.version, created, owner)


async def publish_draft(
    s: AsyncSession, scope: Scope, *, text: str, name: str | None, organisation: str | None, now: datetime
) -> PublishedFlow:
    """Validate and publish for `organisation` (a code in the scope; None: shared). Raises
    FlowFileError (nothing stored), FlowNotFound, FlowNotYours or FlowBelongsElsewhere."""
    owner_id = await _owner_in(s, organisation, scope)
    flow, errors = validate_draft(name or "draft.yaml", text)
    if flow is None:
        raise FlowFileError(errors)
    return await _publish(
        s, flow, source=text, source_name=name or f"{flow.id}.yaml", owner_id=owner_id, owner=organisation, now=now
    )


async def rollback(s: AsyncSession, scope: Scope, code: str, number: int, *, now: datetime) -> PublishedFlow:
    """Publish version `number`'s content again as the newest version. Sessions already
    under way keep the version they started on; new ones take this."""
    latest, owner = await _visible_latest(s, scope, code)
    if not _may_change(scope, owner):
        raise FlowNotYours(f"流程 {code} 属于上级机构 flow {code} belongs to an organisation above yours")
    old = await _version(s, scope, code, number)
    version, created = await FlowRepository(s).publish(
        old.definition, source=old.source, source_name=old.source_name, now=now,
        organisation_id=latest.flow.organisation_id,
    )  # fmt: skip
    return PublishedFlow(code, version.version, created, owner.code if owner else None)


_TOP_ID = re.compile(r"^id:[ \t]*\S.*$", re.MULTILINE)


def renamed_source(source: str, new_id: str) -> str:
    """The source with its top-level `id` changed and every other line (comments
    included) kept, so the copy reads like the original."""
    if source.lstrip().startswith("{"):  # a JSON flow file: no comments to keep
        data = json.loads(source)
        data["id"] = new_id
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    renamed, n = _TOP_ID.subn(f"id: {new_id}", source, count=1)
    if n == 0:
        missing = FlowError("copy", None, "id", "源文件中找不到 id 行 no top-level 'id:' line in the source")
        raise FlowFileError([missing])
    return renamed


async def copy_flow(
    s: AsyncSession, scope: Scope, code: str, *, new_id: str, organisation: str, now: datetime
) -> PublishedFlow:
    """A visible flow's latest source under `new_id`, owned by `organisation` (in the
    scope). For that organisation and those under it the copy then replaces the flow of its
    category that it came from, since the nearest organisation's flow wins."""
    latest, _ = await _visible_latest(s, scope, code)
    owner_id = await _owner_in(s, organisation, scope)
    if await s.scalar(select(FlowRow.id).where(FlowRow.code == new_id)) is not None:
        raise FlowBelongsElsewhere(f"流程代码已存在 a flow {new_id!r} already exists: choose another id")
    text = renamed_source(latest.source, new_id)
    name = f"{new_id}.json" if latest.source_name.endswith(".json") else f"{new_id}.yaml"
    flow, errors = validate_draft(name, text)
    if flow is None:
        raise FlowFileError(errors)
    return await _publish(s, flow, source=text, source_name=name, owner_id=owner_id, owner=organisation, now=now)


# What the console's flow pages show beyond the API: who owns a flow relative to the
# reader, each version with who published it and the sessions still open on it.

CHANGES = ("flow_published", "flow_rolled_back", "flow_copied", "flow_imported")


@dataclass(frozen=True, slots=True)
class VersionDetail:
    version: int
    created_at: datetime
    source_name: str
    published_by: str | None  # the audit entry's actor ("staff:wang", "cli"); None: seeded
    note: str | None
    action: str | None
    open_sessions: int


@dataclass(frozen=True, slots=True)
class FlowDetail:
    code: str
    category: str
    title_zh: str
    title_en: str
    organisation: str | None
    organisation_name: str | None
    relation: str  # "shared", "own", "above" (serves the reader), "below"
    may_change: bool
    versions: list[VersionDetail]


def relation_of(scope: Scope, owner: Organisation | None) -> str:
    if owner is None:
        return "shared"
    mine = scope.ids_above_and_self()
    if mine and owner.id == mine[-1]:
        return "own"
    if owner.id in mine:
        return "above"
    return "below"


async def flow_detail(s: AsyncSession, scope: Scope, code: str) -> FlowDetail:
    """A visible flow with all its versions (newest first), for the console."""
    latest, owner = await _visible_latest(s, scope, code)
    versions = await FlowRepository(s).versions(code)
    open_rows = await s.execute(
        select(SurveySession.flow_version_id, func.count(SurveySession.id))
        .where(
            SurveySession.flow_version_id.in_([v.id for v in versions]),
            SurveySession.status.in_(OPEN_STATUSES),
        )
        .group_by(SurveySession.flow_version_id)
    )
    open_by_version = {version_id: n for version_id, n in open_rows}
    made: dict[int, AuditEntry] = {}
    for entry in await AuditRepository(s).for_subject("flow", code):
        data = entry.data or {}
        if entry.action in CHANGES and data.get("created") and isinstance(data.get("version"), int):
            made.setdefault(data["version"], entry)
    title = latest.definition.get("title") or {}
    return FlowDetail(
        code=code,
        category=latest.flow.category,
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        organisation=owner.code if owner else None,
        organisation_name=owner.name if owner else None,
        relation=relation_of(scope, owner),
        may_change=_may_change(scope, owner),
        versions=[
            VersionDetail(
                version=v.version,
                created_at=v.created_at,
                source_name=v.source_name,
                published_by=made[v.version].actor if v.version in made else None,
                note=(made[v.version].data or {}).get("note") if v.version in made else None,
                action=made[v.version].action if v.version in made else None,
                open_sessions=open_by_version.get(v.id, 0),
            )
            for v in sorted(versions, key=lambda v: v.version, reverse=True)
        ],
    )


async def version_flow(s: AsyncSession, scope: Scope, code: str, number: int) -> Flow:
    """One visible version as a parsed flow (for its diagram or an XLSForm export)."""
    return Flow.model_validate((await _version(s, scope, code, number)).definition)


async def owners_by_code(s: AsyncSession, codes: set[str]) -> dict[str, tuple[str, str]]:
    """code → (name, path) of organisations, to group flows by who owns them."""
    rows = await s.execute(
        select(Organisation.code, Organisation.name, Organisation.path).where(Organisation.code.in_(codes))
    )
    return {code: (name, path) for code, name, path in rows}


async def organisations_to_publish_for(s: AsyncSession, scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of the organisations an admin of `scope` may publish for, top first."""
    rows = await s.execute(
        select(Organisation.code, Organisation.name)
        .where(Organisation.path.startswith(scope.path) if scope.path != "/" else true())
        .order_by(Organisation.path)
    )
    return [(code, name) for code, name in rows]
