"""Start-up work shared by `huifang serve`, `huifang chat` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.loader import FlowFileError, default_flow_paths, flow_files, load_path
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
    db: Database, paths: list[Path], *, now: datetime | None = None, seed: bool = False
) -> list[Published]:
    """Validate every file first; store nothing unless all are valid. With `seed`, a flow
    that already has a version in the database is left as it is."""
    loaded = []
    problems = []
    for p in paths:
        flow, src, errors = load_path(p)
        if errors:
            problems.extend(errors)
        else:
            assert flow is not None  # load_path gives a flow whenever there are no errors
            loaded.append((p, flow, src))
    if problems:
        raise FlowFileError(problems)
    now = now or datetime.now(UTC)
    out = []
    async with db.transaction() as s:
        repo = FlowRepository(s)
        for p, flow, src in loaded:
            version, created = await repo.publish(
                flow.model_dump(mode="json"), source=src.text, source_name=p.name, now=now, if_absent=seed
            )
            out.append(Published(str(p), flow.id, version.version, created))
    return out


async def prepare(db: Database, *, migrate: bool, publish_defaults: bool, extra_dir: Path | None = None) -> None:
    if migrate:
        await upgrade_async(db)
    paths = list(default_flow_paths()) if publish_defaults else []
    if extra_dir is not None:
        paths += flow_files(extra_dir)
    if paths:
        # Seed only: what an admin published since (an edited question) is the flow now, and
        # a restart must neither undo it nor add versions. Newer bundled files reach an
        # existing database through `huifang flows publish`.
        await publish_files(db, paths, seed=True)
