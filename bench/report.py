"""Reports over a million answers: the report query and the raw-answers exports.

Builds a fresh PostgreSQL database (huifang_bench_report on the server of
HUIFANG_DATABASE_URL, migrated here and dropped at the end unless --keep): the nine default
flows, an organisation tree, 100,000 respondents (1 in 100 a test respondent) and about
215,000 survey sessions answering every question of their category's flow, 1,000,000
answers in all, written with COPY. Then times

  (a) `bot.services.reports.build_report` over everything (goal < 2 s);
  (b) the XLSX raw-answers export streamed to a file (goal < 60 s), printing the process's
      RSS at the start, every 100,000 rows, and its peak: flat memory means the peak stays
      near the start whatever the number of rows;
  (c) the CSV export the same way.

    .venv/bin/python bench/report.py                 # 100,000 respondents, 1,000,000 answers
    .venv/bin/python bench/report.py --answers 200000 --keep --parts bc
    .venv/bin/python bench/report.py --reuse --parts a   # again, over the data the --keep run left

Measured quiet (2 vCPUs, load average about 1; 990,007 answers of real respondents):
(a) build_report 1.3-1.7 s (2.2-2.6 s before the statements stopped joining flow_versions
and all respondents; 16-25 s before migration 0010 and the one-pass counts); (b) XLSX 41 s
wall, 35 s of this process's CPU, 29 MB, RSS 93 -> 108 MiB; (c) CSV 33 s wall, 30 s CPU,
219 MB, RSS 108 -> 120 MiB.
RSS at 100,000 rows is what it is at 900,000: memory stays flat. xlsxwriter's
constant_memory mode, tried first, took 537 s wall and 166 s CPU for the XLSX.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH_DB = "huifang_bench_report"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
TEXTS = [
    ("救助款到现在还没收到，希望尽快处理", "complaint"),
    ("家里老人生病了，能不能帮忙联系医院", "help"),
    ("希望多组织一些志愿活动", "suggestion"),
    ("没有", "none"),
    ("工作人员很耐心，谢谢你们", "none"),
]


def rss_mb() -> float:
    """The process's resident memory now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _admin(url: str, statement: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _exists(admin_url: str, *, built: str | None = None) -> bool:
    """Whether the bench database exists (and, given its url, already holds answers)."""
    import asyncpg
    from sqlalchemy import make_url

    dsn = make_url(built or admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        if built is None:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB))
        return bool(await conn.fetchval("SELECT to_regclass('answers') IS NOT NULL AND EXISTS (SELECT 1 FROM answers)"))
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    """Brings a reused bench database to the current migrations (new indexes included)."""
    from bot.services.flows import prepare
    from storage.db import Database

    async with Database(url) as db:
        await prepare(db, migrate=True, publish_defaults=False)


def _value(question: dict[str, Any], rnd: random.Random) -> tuple[Any, str, str | None]:
    """A plausible (value, raw text, text kind) for a question of a default flow."""
    kind = question["type"]
    codes = [o["code"] for o in question.get("options") or []]
    if kind in ("single_choice", "rating"):
        # Skewed to the first options, as satisfaction answers are.
        i = min(int(rnd.expovariate(1.2)), len(codes) - 1)
        return codes[i], str(i + 1), None
    if kind == "multi_choice":
        picked = sorted(rnd.sample(range(len(codes)), k=rnd.randint(1, min(3, len(codes)))))
        return [codes[i] for i in picked], "、".join(str(i + 1) for i in picked), None
    if kind == "yes_no":
        yes = rnd.random() < 0.8
        return yes, "是" if yes else "否", None
    if kind in ("number", "nps"):
        n = rnd.randint(0, 10)
        return n, str(n), None
    text, text_kind = TEXTS[rnd.randrange(len(TEXTS))]
    return text, text, text_kind


async def build(url: str, *, respondents: int, answers: int) -> tuple[int, int]:
    """Seeds flows and organisations through the services, then COPYs the people, sessions
    and answers; (sessions, answers) written."""
    import asyncpg
    from sqlalchemy import make_url, select

    from bot.services.flows import prepare
    from bot.services.organisations import add_organisation
    from storage.db import Database
    from storage.models import Flow, FlowVersion

    async with Database(url) as db:
        await prepare(db, migrate=True, publish_defaults=True)
        async with db.transaction() as s:
            await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
            orgs = []
            for code, name in [
                ("jinjiang", "锦江区红十字会"),
                ("wuhou", "武侯区红十字会"),
                ("qingyang", "青羊区红十字会"),
            ]:
                district = await add_organisation(s, code=code, name=name, parent="chengdu", now=T0)
                orgs.append(district.id)
                for k in range(3):
                    station = await add_organisation(
                        s, code=f"{code}-{k}", name=f"{name}第{k + 1}服务站", parent=code, now=T0
                    )
                    orgs.append(station.id)
            flows = [
                (version_id, category, definition)
                for version_id, category, definition in await s.execute(
                    select(FlowVersion.id, Flow.category, FlowVersion.definition).join(
                        Flow, Flow.id == FlowVersion.flow_id
                    )
                )
                if definition.get("kind", "survey") == "survey"
            ]
    questions = {vid: [q for q in d["questions"] if q["type"] != "info"] for vid, _, d in flows}
    rnd = random.Random(9)

    def people() -> Iterator[tuple[Any, ...]]:
        for i in range(1, respondents + 1):
            _, category, _ = flows[i % len(flows)]
            yield (i, orgs[i % len(orgs)], category, f"受访者{i}", f"138{i:08d}", "zh", i % 100 == 0, T0, T0)

    def plan() -> Iterator[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
        """Sessions, each with the questions it answers, until `answers` answers: generated
        as COPY reads them, so the data set is never held in memory."""
        left, session_id = answers, 0
        while left > 0:
            person = session_id % respondents + 1
            session_id += 1
            version_id, _, _ = flows[person % len(flows)]
            started = T0 + timedelta(minutes=session_id % (60 * 24 * 90))
            channel = ("wechat", "phone", "telegram")[session_id % 3]
            asked = questions[version_id][:left]
            left -= len(asked)
            yield (session_id, person, version_id, "completed", "{}", started, started, started, channel), asked

    def answer_rows() -> Iterator[tuple[Any, ...]]:
        answer_id = 0
        for session, asked in plan():
            for n, q in enumerate(asked):
                value, raw, text_kind = _value(q, rnd)
                at = session[5] + timedelta(seconds=30 * (n + 1))
                answer_id += 1
                yield (answer_id, session[0], q["id"], json.dumps(value, ensure_ascii=False), raw, True, False,
                       text_kind, at, at)  # fmt: skip

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "respondents", records=people(),
            columns=["id", "organisation_id", "category", "name", "phone", "lang", "is_test", "created_at",
                     "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "survey_sessions", records=(session for session, _ in plan()),
            columns=["id", "respondent_id", "flow_version_id", "status", "state", "started_at", "updated_at",
                     "ended_at", "channel"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "answers", records=answer_rows(),
            columns=["id", "session_id", "question_id", "value", "raw_text", "parsed", "skipped", "text_kind",
                     "answered_at", "updated_at"],
        )  # fmt: skip
        for table in ("respondents", "survey_sessions", "answers"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # Every table, as autovacuum would have by then: without statistics on the small
        # ones (flow_versions, organisations) the planner guessed a few hundred sessions and
        # chose nested loops over 200,000.
        await conn.execute("ANALYZE")
        counts = [await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("survey_sessions", "answers")]
    finally:
        await conn.close()
    return counts[0], counts[1]


class Memory:
    """Prints the RSS every `every` rows; keeps the highest seen."""

    def __init__(self, label: str, every: int = 100_000) -> None:
        self.label, self.every, self.next = label, every, every
        self.start = rss_mb()
        self.high = self.start
        self.started = time.perf_counter()
        print(f"  {label}: RSS at start {self.start:7.1f} MiB")

    def __call__(self, written: int) -> None:
        now = rss_mb()
        self.high = max(self.high, now)
        if written >= self.next:
            print(
                f"  {self.label}: {written:>9,} rows  {time.perf_counter() - self.started:6.1f} s  RSS {now:7.1f} MiB"
            )
            self.next += self.every


async def time_report(db: Any) -> None:
    """(a): build_report over everything, twice (the second with warm caches)."""
    from bot.services.reports import build_report
    from storage.repositories.organisations import Scope

    for attempt in (1, 2):
        started = time.perf_counter()
        async with db.transaction() as s:
            report = await build_report(s, scope=Scope.everything())
        took = time.perf_counter() - started
        print(f"(a) build_report over everything, run {attempt}: {took:6.2f} s (goal < 2 s), "
              f"{len(report['flows'])} flows, load average {os.getloadavg()[0]:.1f}")  # fmt: skip


async def measure(url: str, parts: str = "abc") -> None:
    from bot.services.report_exports import answer_filter, stream_answers_csv, stream_answers_xlsx
    from storage.db import Database
    from storage.repositories.organisations import Scope

    async with Database(url) as db:
        if "a" in parts:
            await time_report(db)
        with tempfile.TemporaryDirectory() as tmp:
            exports = [
                ("(b) XLSX", stream_answers_xlsx, "answers.xlsx"),
                ("(c) CSV", stream_answers_csv, "answers.csv"),
            ]
            for label, write, name in (e for e in exports if e[0][1] in parts):
                path = Path(tmp) / name
                memory = Memory(label)
                started, cpu = time.perf_counter(), time.process_time()
                async with db.transaction() as s:
                    where = await answer_filter(s, scope=Scope.everything())
                    if write is stream_answers_csv:
                        with open(path, "wb") as out:
                            written = await write(s, where, out, progress=memory)
                    else:
                        written = await write(s, where, path, progress=memory)
                took, cpu = time.perf_counter() - started, time.process_time() - cpu
                memory(written)
                print(f"{label} export: {written:,} answers in {took:6.1f} s, {path.stat().st_size / 2**20:.0f} MiB "
                      f"(this process's CPU {cpu:.1f} s; the machine's load average {os.getloadavg()[0]:.1f}); "
                      f"RSS start {memory.start:.1f} MiB, highest sampled {memory.high:.1f} MiB, "
                      f"process peak so far (getrusage) {peak_rss_mb():.1f} MiB")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    from sqlalchemy import make_url

    admin_url = os.environ.get("HUIFANG_DATABASE_URL", DEFAULT_PG)
    url = (
        make_url(admin_url)
        .set(drivername="postgresql+asyncpg", database=BENCH_DB)
        .render_as_string(hide_password=False)
    )
    if args.reuse and await _exists(admin_url):
        await _migrate(url)
        print(f"reusing {BENCH_DB} as a previous --keep run left it (migrated to head)")
    else:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        await _admin(admin_url, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        if not (args.reuse and await _exists(admin_url, built=url)):
            started = time.perf_counter()
            sessions, answers = await build(url, respondents=args.respondents, answers=args.answers)
            print(f"built {args.respondents:,} respondents, {sessions:,} sessions, {answers:,} answers "
                  f"in {time.perf_counter() - started:.1f} s (RSS now {rss_mb():.0f} MiB)")  # fmt: skip
        await measure(url, args.parts)
    finally:
        if not (args.keep or args.reuse):
            await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help=f"time the data a previous --keep run left in {BENCH_DB}; implies --keep"
    )
    parser.add_argument("--parts", default="abc", help="which of (a) report, (b) XLSX, (c) CSV to time (default abc)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
