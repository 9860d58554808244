"""Organisations form a tree: a city society, its district societies, their grassroots
stations. An organisation's scope is itself and everything under it; every query that
reads people, answers or tickets for staff takes such a scope."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organisation
from storage.models.organisation import KINDS
from storage.repositories._time import utcnow

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may see: the organisation at `path` and everything below it.

    `Scope.everything()` is for the system itself (workers, CLI run by the operator).
    """

    path: str

    @classmethod
    def of(cls, organisation: Organisation) -> Scope:
        return cls(organisation.path)

    @classmethod
    def everything(cls) -> Scope:
        return cls("/")

    def ids_above_and_self(self) -> list[int]:
        """The ids on the way from the root down to the scope's organisation."""
        return [int(part) for part in self.path.strip("/").split("/") if part]


def in_scope(org_id_column: SQLColumnExpression[int | None], scope: Scope) -> ColumnElement[bool]:
    """A WHERE clause: the row's organisation lies in `scope`.

    Rows of no organisation (a person who wrote in before any organisation existed, or whom
    an interviewer entered without one) belong to the city society, the oldest root, as their
    tickets do (bot/services/ticket_queues.root_organisation_id): its scope sees them, a
    district's does not."""
    if scope.path == "/":
        return true()
    below = org_id_column.in_(select(Organisation.id).where(Organisation.path.startswith(scope.path)))
    ids = scope.ids_above_and_self()
    if len(ids) != 1:  # not a root: only its own tree
        return below
    oldest_root = select(func.min(Organisation.id)).where(Organisation.parent_id.is_(None)).scalar_subquery()
    return or_(below, and_(org_id_column.is_(None), literal(ids[0]) == oldest_root))


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organisation_id: int) -> Organisation | None:
        return await self.session.get(Organisation, organisation_id)

    async def by_code(self, code: str) -> Organisation | None:
        return await self.session.scalar(select(Organisation).where(Organisation.code == code))

    async def create(
        self,
        *,
        code: str,
        name: str,
        parent: Organisation | None = None,
        kind: str | None = None,
        at: datetime | None = None,
    ) -> Organisation:
        code, name = code.strip(), name.strip()
        if not _CODE.fullmatch(code):
            raise ValueError(
                f"机构代码只能用小写字母、数字、_ 和 - an organisation code is 1–64 of a-z 0-9 _ - : {code!r}"
            )
        if not name or len(name) > 200:
            raise ValueError("机构名称必填（最多200字） an organisation needs a name (at most 200 characters)")
        kind = kind or ("city" if parent is None else "district" if parent.kind == "city" else "grassroots")
        if kind not in KINDS:
            raise ValueError(f"未知的机构类型 unknown kind {kind!r}: one of {', '.join(KINDS)}")
        organisation = Organisation(
            code=code,
            name=name,
            parent_id=parent.id if parent is not None else None,
            kind=kind,
            path="/",
            created_at=at or utcnow(),
        )
        self.session.add(organisation)
        await self.session.flush()
        # The path needs the new id, which only the flush gives.
        organisation.path = f"{parent.path if parent is not None else '/'}{organisation.id}/"
        await self.session.flush()
        return organisation

    async def list(self, scope: Scope | None = None) -> list[Organisation]:
        """The organisations in `scope` (all by default), parents before their children."""
        query = select(Organisation).order_by(Organisation.path)
        if scope is not None and scope.path != "/":
            query = query.where(Organisation.path.startswith(scope.path))
        return list(await self.session.scalars(query))

    async def chain(self, organisation: Organisation) -> builtins.list[Organisation]:  # `list` is a method here
        """The organisation and its ancestors, nearest first."""
        ids = Scope.of(organisation).ids_above_and_self()
        rows = {o.id: o for o in await self.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
        return [rows[i] for i in reversed(ids) if i in rows]
