"""Publishing flows, from files or from text (the admin console), and seeding the bundled
defaults at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.organisations import ids_by_code
from flows.loader import FlowFileError, default_flow_paths, flow_files, followup_flow_paths, load_path, load_text
from flows.schema import Flow
from flows.source import FlowError, Source
from storage.db import Database
from storage.migrate import upgrade_async
from storage.repositories.flows import FlowRepository


@dataclass(frozen=True, slots=True)
class Published:
    path: str
    flow_id: str
    version: int
    created: bool


async def publish_files(
    db: Database,
    paths: list[Path],
    *,
    now: datetime | None = None,
    seed: bool = False,
    organisation: str | None = None,
) -> list[Published]:
    """Validate every file first; store nothing unless all are valid. With `seed`, a flow
    that already has a version in the database is left as it is."""
    checked = [(p.name, str(p), *load_path(p)) for p in paths]
    return await _store(db, checked, now=now, seed=seed, organisation=organisation)


async def publish_text(
    db: Database, name: str, text: str, *, now: datetime | None = None, organisation: str | None = None
) -> Published:
    """One flow written as YAML or JSON text: `name` says which by its ending and names it in
    errors. Validated, then stored as a new version unless unchanged, in its own transaction."""
    checked = [(name, name, *load_text(name, text))]
    _refuse_errors(checked)
    async with db.transaction() as s:
        [published] = await _store_in(s, checked, now=now or datetime.now(UTC), organisation=organisation)
    return published


async def publish_text_in(
    s: AsyncSession, name: str, text: str, *, now: datetime, organisation: str | None = None
) -> Published:
    """As `publish_text`, inside the caller's transaction, so that what the caller records
    about it (an audit entry) is stored with it or not at all."""
    checked = [(name, name, *load_text(name, text))]
    _refuse_errors(checked)
    [published] = await _store_in(s, checked, now=now, organisation=organisation)
    return published


Checked = tuple[str, str, Flow | None, Source, list[FlowError]]  # name, shown as, and load_*'s


def _refuse_errors(checked: list[Checked]) -> None:
    problems = [e for *_, errors in checked for e in errors]
    if problems:
        raise FlowFileError(problems)


async def _store(
    db: Database, checked: list[Checked], *, now: datetime | None, seed: bool = False, organisation: str | None
) -> list[Published]:
    """All or nothing. `organisation`: the code of the organisation the flows belong to
    (None: shared with every organisation)."""
    _refuse_errors(checked)
    async with db.transaction() as s:
        return await _store_in(s, checked, now=now or datetime.now(UTC), seed=seed, organisation=organisation)


async def _store_in(
    s: AsyncSession, checked: list[Checked], *, now: datetime, seed: bool = False, organisation: str | None
) -> list[Published]:
    owner = (await ids_by_code(s, {organisation}))[organisation] if organisation else None
    repo = FlowRepository(s)
    out = []
    for name, shown, flow, src, _ in checked:
        assert flow is not None  # no errors, so it loaded
        version, created = await repo.publish(
            flow.model_dump(mode="json"),
            source=src.text,
            source_name=name,
            now=now,
            if_absent=seed,
            organisation_id=owner,
        )
        out.append(Published(shown, flow.id, version.version, created))
    return out


async def prepare(db: Database, *, migrate: bool, publish_defaults: bool, extra_dir: Path | None = None) -> None:
    if migrate:
        await upgrade_async(db)
    paths = [*default_flow_paths(), *followup_flow_paths()] if publish_defaults else []
    if extra_dir is not None:
        paths += flow_files(extra_dir)
    if paths:
        # Seed only: what an admin published since (an edited question) is the flow now, and
        # a restart must neither undo it nor add versions. Newer bundled files reach an
        # existing database through `huifang flows publish`.
        await publish_files(db, paths, seed=True)
