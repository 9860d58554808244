from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage.db import Database
from storage.repositories import AuditRepository


async def test_entries_of_a_subject_oldest_first(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        repo = AuditRepository(s)
        await repo.record(
            actor="staff:li",
            action="respondent.opt_out",
            subject_type="respondent",
            subject_id=7,
            data={"via": "电话"},
            at=t0 + timedelta(minutes=1),
        )
        await repo.record(
            actor="system",
            action="respondent.created",
            subject_type="respondent",
            subject_id="7",
            at=t0,
        )
        await repo.record(
            actor="system",
            action="respondent.created",
            subject_type="respondent",
            subject_id=8,
            at=t0,
        )
    async with db.transaction() as s:
        entries = await AuditRepository(s).for_subject("respondent", 7)
    assert [(e.action, e.subject_id, e.data) for e in entries] == [
        ("respondent.created", "7", {}),
        ("respondent.opt_out", "7", {"via": "电话"}),
    ]


async def test_an_entry_needs_actor_action_and_subject_type(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        with pytest.raises(ValueError, match="actor"):
            await AuditRepository(s).record(actor="", action="x", subject_type="y", at=t0)
