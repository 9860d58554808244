from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from storage.locks import advisory_xact_lock
from storage.models import Flow, FlowVersion
from storage.repositories.organisations import Scope, in_scope


def canonical_json(definition: Mapping[str, Any]) -> str:
    try:
        return json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"a flow definition must be plain JSON (use Flow.model_dump(mode='json')): {error}"
        ) from error


def content_hash(definition: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON, without the top-level "version": the stored version
    number is assigned here, so the same content published twice hashes the same."""
    body = {key: value for key, value in definition.items() if key != "version"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _code_and_category(definition: Mapping[str, Any]) -> tuple[str, str]:
    code = definition.get("id")
    category = definition.get("category")
    if isinstance(category, Mapping):
        category = category.get("code")
    if not isinstance(code, str) or not code:
        raise ValueError("a flow definition needs an 'id' (the flow code)")
    if not isinstance(category, str) or not category:
        raise ValueError("a flow definition needs a category code ('category': {'code': …})")
    return code, category


class FlowBelongsElsewhere(ValueError):
    """The flow code is another organisation's (or shared): publishing would change it."""


class FlowRepository:
    """Flow versions are loaded with their flow, so `version.flow.code` works."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _versions(self) -> Any:
        return select(FlowVersion).options(joinedload(FlowVersion.flow))

    async def publish(
        self,
        definition: Mapping[str, Any],
        *,
        source: str,
        source_name: str,
        now: datetime,
        organisation_id: int | None = None,
        if_absent: bool = False,
    ) -> tuple[FlowVersion, bool]:
        """Store `definition` as the flow's next version, unless it equals the latest one
        (or, with `if_absent`, unless the flow has any version at all: seeding).

        Returns (version, created). The stored definition carries the assigned version
        number, so loading it back gives a flow that knows its own version. Publishing an
        older content again (a revert) makes it the newest version. A flow belongs to the
        organisation it was first published for (None: shared); publishing it for another
        is refused with ValueError, since that would change another office's survey.
        """
        code, category = _code_and_category(definition)
        digest = content_hash(definition)
        # Two publishers of one flow would both pick max+1; serialise them (no-op on SQLite,
        # where transactions are already serialised).
        await advisory_xact_lock(self.session, f"flow:{code}")
        flow = await self.session.scalar(select(Flow).where(Flow.code == code))
        if flow is None:
            flow = Flow(code=code, category=category, organisation_id=organisation_id, created_at=now)
            self.session.add(flow)
            await self.session.flush()
            latest = None
        elif flow.organisation_id != organisation_id:
            raise FlowBelongsElsewhere(
                f"流程 {code} 属于另一个机构 flow {code!r} belongs to another organisation: "
                "copy it under a new id instead"
            )
        else:
            latest = await self._latest_of(flow.id)
        if latest is not None and (if_absent or latest.content_hash == digest):
            return latest, False
        if flow.category != category:
            flow.category = category
        number = (latest.version if latest is not None else 0) + 1
        version = FlowVersion(
            flow_id=flow.id,
            version=number,
            content_hash=digest,
            definition={**definition, "version": number},
            source=source,
            source_name=source_name,
            created_at=now,
        )
        self.session.add(version)
        await self.session.flush()
        # Attach the already loaded flow as loaded state, not as a change (a change would
        # count as an update of an immutable version, and lazy="raise" forbids loading it).
        set_committed_value(version, "flow", flow)
        return version, True

    async def _latest_of(self, flow_id: int) -> FlowVersion | None:
        return await self.session.scalar(
            self._versions()
            .where(FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.version.desc())
            .limit(1)
        )

    async def get_version(self, version_id: int) -> FlowVersion | None:
        return await self.session.scalar(self._versions().where(FlowVersion.id == version_id))

    async def latest(self, code: str) -> FlowVersion | None:
        return await self.session.scalar(
            self._versions()
            .join(Flow, FlowVersion.flow_id == Flow.id)
            .where(Flow.code == code)
            .order_by(FlowVersion.version.desc())
            .limit(1)
        )

    async def list_latest(self, visible_to: Scope | None = None) -> list[FlowVersion]:
        """The latest version of every flow, by flow code; with `visible_to`, only the flows
        that scope's staff may see: shared ones, their own organisation's and its parents'
        (which serve them), and those of the organisations under them."""
        newest = (
            select(FlowVersion.flow_id, func.max(FlowVersion.version).label("version"))
            .group_by(FlowVersion.flow_id)
            .subquery()
        )
        rows = await self.session.scalars(
            self._versions()
            .join(
                newest,
                (FlowVersion.flow_id == newest.c.flow_id)
                & (FlowVersion.version == newest.c.version),
            )
            .join(Flow, FlowVersion.flow_id == Flow.id)
            .where(true() if visible_to is None else _visible(visible_to))
            .order_by(Flow.code)
        )
        return list(rows)

    async def latest_ids_by_owner(self) -> list[tuple[int, int | None]]:
        """(version id, owning organisation id or None for shared) of the latest version of
        every flow: enough to choose an organisation's flows without loading definitions."""
        newest = (
            select(FlowVersion.flow_id, func.max(FlowVersion.version).label("version"))
            .group_by(FlowVersion.flow_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(FlowVersion.id, Flow.organisation_id)
            .join(
                newest,
                (FlowVersion.flow_id == newest.c.flow_id) & (FlowVersion.version == newest.c.version),
            )
            .join(Flow, FlowVersion.flow_id == Flow.id)
            .order_by(FlowVersion.id)
        )
        return [(vid, owner) for vid, owner in rows]

    async def definition(self, version_id: int) -> dict[str, Any] | None:
        return await self.session.scalar(
            select(FlowVersion.definition).where(FlowVersion.id == version_id)
        )

    async def versions(self, code: str) -> list[FlowVersion]:
        """Every version of the flow, oldest first (empty for an unknown code)."""
        rows = await self.session.scalars(
            self._versions()
            .join(Flow, FlowVersion.flow_id == Flow.id)
            .where(Flow.code == code)
            .order_by(FlowVersion.version)
        )
        return list(rows)


def _visible(scope: Scope) -> ColumnElement[bool]:
    if scope.path == "/":
        return true()
    above = scope.ids_above_and_self()
    return Flow.organisation_id.is_(None) | Flow.organisation_id.in_(above) | in_scope(Flow.organisation_id, scope)
