"""The organisation tree: a city society, its district societies, their grassroots stations.

Staff see their organisation and everything under it (`Scope`); flows published for an
organisation serve it and the organisations under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Organisation
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.respondents import RespondentRepository


class OrganisationError(ValueError):
    """A message for people; nothing was changed."""


@dataclass(frozen=True, slots=True)
class OrganisationRead:
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int  # 0 for a root
    respondents: int


async def add_organisation(
    s: AsyncSession, *, code: str, name: str, parent: str | None = None, kind: str | None = None, now: datetime
) -> Organisation:
    repo = OrganisationRepository(s)
    if await repo.by_code(code.strip()) is not None:
        raise OrganisationError(f"机构代码已存在 organisation code already exists: {code}")
    above = None
    if parent is not None:
        above = await repo.by_code(parent)
        if above is None:
            raise OrganisationError(f"未知的上级机构 unknown parent organisation: {parent}")
    try:
        return await repo.create(code=code, name=name, parent=above, kind=kind, at=now)
    except ValueError as exc:
        raise OrganisationError(str(exc)) from None


async def list_organisations(s: AsyncSession, *, scope: Scope | None = None) -> list[OrganisationRead]:
    """The tree in `scope`, parents before children, with each one's own respondents."""
    scope = scope or Scope.everything()
    rows = await OrganisationRepository(s).list(scope)
    counts = await RespondentRepository(s).count_by_organisation(scope)
    codes = {o.id: o.code for o in rows}
    return [
        OrganisationRead(
            id=o.id,
            code=o.code,
            name=o.name,
            kind=o.kind,
            parent_code=codes.get(o.parent_id) if o.parent_id is not None else None,
            depth=o.path.count("/") - 2,
            respondents=counts.get(o.id, 0),
        )
        for o in rows
    ]


async def scope_of(s: AsyncSession, code: str) -> tuple[Organisation, Scope]:
    organisation = await OrganisationRepository(s).by_code(code)
    if organisation is None:
        raise OrganisationError(f"未知的机构 unknown organisation: {code}")
    return organisation, Scope.of(organisation)


async def ids_by_code(s: AsyncSession, codes: set[str]) -> dict[str, int]:
    """Organisation ids for `codes`; OrganisationError naming any that does not exist."""
    repo = OrganisationRepository(s)
    found = {}
    for code in sorted(codes):
        organisation = await repo.by_code(code)
        if organisation is None:
            raise OrganisationError(f"未知的机构 unknown organisation: {code}")
        found[code] = organisation.id
    return found


async def organisation_id(db: Database, code: str) -> int:
    """The id of the organisation `code`; OrganisationError when there is none."""
    async with db.transaction() as s:
        return (await ids_by_code(s, {code}))[code]


async def organisation_in_scope(s: AsyncSession, code: str, scope: Scope) -> Organisation | None:
    """The organisation `code` if it lies in `scope`; None otherwise, as if it did not exist
    (staff of one district learn nothing about another's)."""
    organisation = await OrganisationRepository(s).by_code(code)
    if organisation is None or not (scope.path == "/" or organisation.path.startswith(scope.path)):
        return None
    return organisation
