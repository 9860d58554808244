"""The hot path's reads on PostgreSQL: the claim+lock and load as two prepared statements
(what storage/repositories/turns.py sends) against one PL/pgSQL function doing both, each
inside BEGIN … COMMIT as a turn is, on raw asyncpg, with --concurrency connections at once.

Prints turns per second, client CPU per turn (this process) and PostgreSQL CPU per turn
(the backends of the connections used, from /proc/<pid>/stat). The database is a fresh
copy migrated here ($HUIFANG_BENCH_DB, default huifang_bench_sql), dropped at the end.

    .venv/bin/python bench/hot_path_sql.py [--turns 3000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import make_url

from bench.webhook import proc_cpu_s
from storage.locks import advisory_key
from storage.models.survey_session import OPEN_STATUSES
from storage.repositories.turns import _PG_CLAIM, _PG_LOAD

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BENCH_DB = os.environ.get("HUIFANG_BENCH_DB", "huifang_bench_sql")

# The load with the function's parameters in place of $1…$4: static SQL, so PL/pgSQL plans
# it once per connection, as a prepared statement is.
_STATIC_LOAD = (
    _PG_LOAD.strip()
    .replace("$1", "p_channel")
    .replace("$2", "p_account")
    .replace("$3", "p_external")
    .replace("$4", "p_open")
)

# What one function call would do instead of the two statements: the same claim, the lock,
# then the load (a new snapshot per statement inside a VOLATILE function, so it sees what
# a previous holder of the lock committed).
_FUNCTION = f"""
CREATE FUNCTION pg_temp.claim_and_load(
    p_key text, p_channel text, p_account text, p_external text, p_kind text, p_text text,
    p_at timestamptz, p_platform_at timestamptz, p_lock bigint, p_open text[]
) RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE claimed bigint;
BEGIN
    INSERT INTO inbound_messages (delivery_key, channel, account, external_id, kind, text, received_at, platform_at)
    VALUES (p_key, p_channel, p_account, p_external, p_kind, p_text, p_at, p_platform_at)
    ON CONFLICT (delivery_key) DO NOTHING RETURNING id INTO claimed;
    IF claimed IS NULL THEN RETURN; END IF;
    PERFORM pg_advisory_xact_lock(p_lock);
    RETURN QUERY {_STATIC_LOAD};
END $$;
"""


async def one_turn_statements(conn: asyncpg.Connection, key: str, who: str) -> None:
    async with conn.transaction():
        claimed = await conn.fetchval(
            _PG_CLAIM, key, "wechat", "bench", who, "text", "好", datetime.now(UTC), None, advisory_key(who)
        )
        assert claimed is not None
        await conn.fetchrow(_PG_LOAD, "wechat", "bench", who, list(OPEN_STATUSES))


async def one_turn_function(conn: asyncpg.Connection, key: str, who: str) -> None:
    async with conn.transaction():
        await conn.fetch(
            "SELECT * FROM pg_temp.claim_and_load($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS t("
            + _record_columns(conn)
            + ")",
            key, "wechat", "bench", who, "text", "好", datetime.now(UTC), None, advisory_key(who), list(OPEN_STATUSES),
        )  # fmt: skip


_COLUMNS: str | None = None


def _record_columns(_conn: asyncpg.Connection) -> str:
    assert _COLUMNS is not None
    return _COLUMNS


async def measure(url: str, name: str, turn: object, turns: int, concurrency: int) -> None:
    connections = [await asyncpg.connect(url, ssl=False) for _ in range(concurrency)]
    try:
        pids = [c.get_server_pid() for c in connections]
        if name == "function":
            for c in connections:
                await c.execute(_FUNCTION)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(turns):
            queue.put_nowait(i)
        tag = uuid.uuid4().hex[:6]

        async def worker(conn: asyncpg.Connection) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                await turn(conn, f"bench:{tag}:{i}", f"o-{i % 500}")  # type: ignore[operator]

        pg0 = sum(proc_cpu_s(p) or 0.0 for p in pids)
        cpu0, t0 = proc_cpu_s(os.getpid()) or 0.0, time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        seconds = time.perf_counter() - t0
        client = (proc_cpu_s(os.getpid()) or 0.0) - cpu0
        database = sum(proc_cpu_s(p) or 0.0 for p in pids) - pg0
        print(
            f"{name:>10}: {turns / seconds:,.0f} turns/s; client CPU {client / turns * 1000:.3f} ms, "
            f"PostgreSQL CPU {database / turns * 1000:.3f} ms per turn"
        )
    finally:
        for c in connections:
            await c.close()


async def run(args: argparse.Namespace) -> None:
    global _COLUMNS
    from bench.webhook import _admin
    from storage import migrate

    admin_url = os.environ.get("HUIFANG_DATABASE_URL", DEFAULT_PG)
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await _admin(admin_url, f'CREATE DATABASE "{BENCH_DB}"')
    target = make_url(admin_url).set(database=BENCH_DB)
    try:
        await migrate.upgrade_async(target.set(drivername="postgresql+asyncpg"))
        url = target.set(drivername="postgresql").render_as_string(hide_password=False)
        probe = await asyncpg.connect(url, ssl=False)
        try:
            statement = await probe.prepare(_PG_LOAD)
            _COLUMNS = ", ".join(
                f"c{i} {a.type.name if a.type.schema == 'pg_catalog' else a.type.schema + '.' + a.type.name}"
                for i, a in enumerate(statement.get_attributes())
            )
        finally:
            await probe.close()
        print(f"{args.turns} turns (BEGIN, claim + lock + load, COMMIT), {args.concurrency} connections")
        for _ in range(args.rounds):
            await measure(url, "statements", one_turn_statements, args.turns, args.concurrency)
            await measure(url, "function", one_turn_function, args.turns, args.concurrency)
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
