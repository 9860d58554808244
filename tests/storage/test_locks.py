from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.locks import advisory_key, lock_respondent
from storage.repositories import SessionRepository

MakeSession = Callable[..., Awaitable[tuple[int, int]]]
HANG_GUARD_S = 60  # only against a hang; every wait below ends as soon as its state is reached


def test_key_is_the_same_in_every_process() -> None:
    # hash() of a str differs per process; the lock key must not.
    code = (
        "from storage.locks import advisory_key; print(advisory_key('respondent:wechat:gh:oABC'))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == advisory_key("respondent:wechat:gh:oABC")
    assert -(2**63) <= advisory_key("x") < 2**63
    assert advisory_key("respondent:a") != advisory_key("respondent:b")


async def test_locked_read_modify_write_loses_no_update(
    db: Database, make_session: MakeSession, t0: datetime
) -> None:
    """The runtime's pattern: lock, read the session, compute, write. 20 at once."""
    _, session_id = await make_session(state={"count": 0})

    async def increment() -> None:
        async with db.transaction() as s:
            await lock_respondent(s, "wechat:gh:oABC")
            repo = SessionRepository(s)
            survey = await repo.get(session_id)
            assert survey is not None
            count = survey.state["count"]
            await asyncio.sleep(0.005)  # the engine's work, during which others run
            await repo.save(survey, state={"count": count + 1}, status="active", now=t0)

    await asyncio.gather(*(increment() for _ in range(20)))
    async with db.transaction() as s:
        survey = await SessionRepository(s).get(session_id)
    assert survey is not None and survey.state == {"count": 20}


async def test_postgres_lock_is_per_respondent_and_ends_with_the_transaction(
    pg_db: Database,
) -> None:
    # (On SQLite whole transactions are serialised; there is no per-key lock to observe.)
    db = pg_db
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold(key: str, *, fail: bool = False) -> None:
        async with db.transaction() as s:
            await lock_respondent(s, key)
            holding.set()
            await release.wait()
            if fail:
                raise RuntimeError("handler crashed")

    async def take(key: str) -> None:
        async with db.transaction() as s:
            await lock_respondent(s, key)

    async def waiting_for_advisory_locks() -> int:
        async with db.transaction() as s:
            return await s.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ))  # fmt: skip

    holder = asyncio.create_task(hold("a", fail=True))
    await holding.wait()
    # "a" stays held throughout: "b" finishing at all shows it was not held up by it.
    await asyncio.wait_for(take("b"), timeout=HANG_GUARD_S)
    waiter = asyncio.create_task(take("a"))
    async with asyncio.timeout(HANG_GUARD_S):  # until PostgreSQL has it queued on the lock
        while await waiting_for_advisory_locks() != 1:
            await asyncio.sleep(0.01)
    assert not waiter.done()  # the same respondent waits
    release.set()
    with pytest.raises(RuntimeError):
        await holder
    await asyncio.wait_for(waiter, timeout=HANG_GUARD_S)  # rollback released the lock
