from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from storage.db import Database
from storage.models import ImmutableFlowVersion
from storage.repositories import FlowRepository, content_hash

FlowDefinition = Callable[..., dict[str, Any]]


async def _publish(
    db: Database, definition: dict[str, Any], now: datetime
) -> tuple[int, int, bool]:
    async with db.transaction() as s:
        version, created = await FlowRepository(s).publish(
            definition,
            source=json.dumps(definition, ensure_ascii=False),
            source_name="elderly.yaml",
            now=now,
        )
        return version.id, version.version, created


async def test_first_publish_creates_version_one(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    definition = flow_definition()
    async with db.transaction() as s:
        version, created = await FlowRepository(s).publish(
            definition, source="id: elderly_followup\n", source_name="flows/elderly.yaml", now=t0
        )
        assert created
        assert (version.version, version.flow.code, version.flow.category) == (
            1,
            "elderly_followup",
            "elderly",
        )
    async with db.transaction() as s:
        stored = await FlowRepository(s).get_version(version.id)
    assert stored is not None
    assert stored.definition == definition
    assert stored.content_hash == content_hash(definition)
    assert (stored.source, stored.source_name, stored.created_at) == (
        "id: elderly_followup\n",
        "flows/elderly.yaml",
        t0,
    )


async def test_publishing_the_same_content_again_changes_nothing(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    first = await _publish(db, flow_definition(), t0)
    # The file's own version number is not content: the store assigns numbers.
    again = await _publish(db, flow_definition(version=7), t0 + timedelta(days=1))
    assert again == (first[0], 1, False)
    async with db.transaction() as s:
        assert len(await FlowRepository(s).versions("elderly_followup")) == 1


async def test_changed_content_becomes_the_next_version_and_the_old_one_stays(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    old = flow_definition()
    new = flow_definition(closing={"zh": "非常感谢您的反馈！", "en": "Thank you very much!"})
    first_id, _, _ = await _publish(db, old, t0)
    second_id, number, created = await _publish(db, new, t0 + timedelta(hours=1))
    assert (number, created) == (2, True) and second_id != first_id
    async with db.transaction() as s:
        repo = FlowRepository(s)
        first = await repo.get_version(first_id)
        latest = await repo.latest("elderly_followup")
        versions = await repo.versions("elderly_followup")
    assert first is not None and first.definition == old and first.content_hash == content_hash(old)
    assert latest is not None and latest.id == second_id
    assert latest.definition == {**new, "version": 2}  # the stored flow knows its number
    assert [v.version for v in versions] == [1, 2]


async def test_republishing_an_older_content_makes_it_newest(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    a, b = flow_definition(), flow_definition(title={"zh": "回访二", "en": "Follow-up 2"})
    await _publish(db, a, t0)
    await _publish(db, b, t0 + timedelta(minutes=1))
    _, number, created = await _publish(db, a, t0 + timedelta(minutes=2))
    assert (number, created) == (3, True)


def test_hash_ignores_key_order_and_version_and_hashes_chinese_as_utf8(
    flow_definition: FlowDefinition,
) -> None:
    definition = flow_definition()
    reordered = dict(reversed(list(flow_definition(version=3).items())))
    assert content_hash(definition) == content_hash(reordered)
    body = {k: v for k, v in definition.items() if k != "version"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert "您满意吗？" in canonical
    assert content_hash(definition) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def test_lookups_by_code_category_and_latest_of_each(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    await _publish(db, flow_definition("elderly_followup"), t0)
    await _publish(
        db, flow_definition("donor_followup", category="blood_donor"), t0 + timedelta(minutes=1)
    )
    await _publish(
        db,
        flow_definition("elderly_followup", title={"zh": "新", "en": "New"}),
        t0 + timedelta(minutes=2),
    )
    await _publish(
        db,
        flow_definition("elderly_short", title={"zh": "短", "en": "Short"}),
        t0 + timedelta(minutes=3),
    )
    async with db.transaction() as s:
        repo = FlowRepository(s)
        latest = await repo.list_latest()
        assert await repo.latest("nope") is None
        assert await repo.versions("nope") == []
    assert [(v.flow.code, v.version) for v in latest] == [
        ("donor_followup", 1),
        ("elderly_followup", 2),
        ("elderly_short", 1),
    ]


async def test_a_published_version_cannot_be_edited(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    version_id, _, _ = await _publish(db, flow_definition(), t0)
    with pytest.raises(ImmutableFlowVersion, match="cannot change"):
        async with db.transaction() as s:
            version = await FlowRepository(s).get_version(version_id)
            assert version is not None
            version.definition = {**version.definition, "title": {"zh": "改", "en": "Changed"}}
    async with db.transaction() as s:
        version = await FlowRepository(s).get_version(version_id)
        assert version is not None and version.definition == flow_definition()


async def test_a_definition_without_id_or_category_is_refused(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    async with db.transaction() as s:
        repo = FlowRepository(s)
        missing_id = {k: v for k, v in flow_definition().items() if k != "id"}
        with pytest.raises(ValueError, match="'id'"):
            await repo.publish(missing_id, source="", source_name="x.yaml", now=t0)
        with pytest.raises(ValueError, match="category"):
            await repo.publish(
                flow_definition(category=""), source="", source_name="x.yaml", now=t0
            )
        with pytest.raises(ValueError, match="plain JSON"):
            await repo.publish(flow_definition(when=t0), source="", source_name="x.yaml", now=t0)
        assert await repo.list_latest() == []


async def test_concurrent_publishes_of_one_flow_get_distinct_versions(
    db: Database, flow_definition: FlowDefinition, t0: datetime
) -> None:
    definitions = [
        flow_definition(title={"zh": f"版本{n}", "en": f"Edition {n}"}) for n in range(4)
    ]
    results = await asyncio.gather(*(_publish(db, d, t0) for d in definitions))
    assert sorted(number for _, number, _ in results) == [1, 2, 3, 4]
    assert all(created for _, _, created in results)
