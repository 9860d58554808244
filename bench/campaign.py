"""A campaign inviting 100,000 respondents, through the real scheduler job and the real
outbox dispatcher, with a fake clock and a fake sender that records every call.

Builds a fresh database (PostgreSQL by default: huifang_bench_campaign on the server of
HUIFANG_DATABASE_URL, migrated here and dropped at the end; `--sqlite` for a file):
respondents of two districts, most with a WeChat identity on one of two Official Accounts,
some on Telegram, some with none (the call list). Then, one simulated minute at a time from
08:00 Asia/Shanghai: the `campaign_tick` job, then dispatcher passes until the outbox is
empty. Prints the selection time, invitations per simulated minute and account against
`per_minute`, the outbox rows, distinct recipients, lost (members with a chat channel and
no invitation) and doubled (recipients with more than one invitation, or a row sent twice)
— both must be 0 — and the wall time.

    .venv/bin/python bench/campaign.py                        # 100,000 on PostgreSQL
    .venv/bin/python bench/campaign.py --respondents 5000 --per-minute 200 --sqlite

Measured (2 vCPUs shared with other work, load average ~7, PostgreSQL on the same machine,
100,000 respondents, per_minute 2,000, three accounts): selection 7.6 s; 23 simulated
minutes; at most 2,000 invitations per account and minute (mean 1,939); 95,000 outbox rows
to 95,000 distinct recipients, 95,000 sender calls, all reached; 5,000 on the call list;
lost 0, doubled 0; 2,175 s in the campaign job (~23 ms an invitation: it starts a survey
session per person), 694 s in the dispatcher; 3,323 s wall with the 440 s build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH_DB = "huifang_bench_campaign"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
ACCOUNTS = (("wechat", "wx-jinjiang"), ("wechat", "wx-wuhou"), ("telegram", "tg-bot"))


class RecordingSender:
    """Sends nothing: records each call and says it went."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str]] = []

    async def send(self, row, respondent, *, now):  # type: ignore[no-untyped-def]
        from bot.dispatch.sender import Outcome, SendResult

        self.calls.append((row.id, row.account, row.external_id))
        return Outcome(SendResult(True, 0, "ok"), via="fake")


async def _admin(url: str, statement: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def build(url: str, respondents: int) -> dict[str, int]:
    """Organisations, flows and `respondents` people with their identities; per kind, how many."""
    from sqlalchemy import insert

    from bot.services.flows import prepare
    from bot.services.organisations import add_organisation
    from storage.db import Database
    from storage.models import ChannelIdentity, Respondent

    kinds: Counter[str] = Counter()
    async with Database(url) as db:
        await prepare(db, migrate=True, publish_defaults=True)
        async with db.transaction() as s:
            await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
            jinjiang = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
            wuhou = await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        chunk = 10_000
        for start in range(0, respondents, chunk):
            people, identities = [], []
            for i in range(start + 1, min(start + chunk, respondents) + 1):
                people.append({
                    "id": i, "category": "humanitarian_aid", "name": f"受访者{i}", "lang": "zh",
                    "organisation_id": jinjiang.id if i % 2 else wuhou.id, "is_test": False,
                    "tags": ["2026冬季救助"] if i % 3 == 0 else None, "created_at": T0, "updated_at": T0,
                })  # fmt: skip
                which = i % 20
                if which == 0:
                    kinds["none"] += 1  # no chat identity: the call list
                    continue
                channel, account = ACCOUNTS[2] if which == 1 else ACCOUNTS[i % 2]
                kinds[channel] += 1
                identities.append({
                    "respondent_id": i, "channel": channel, "account": account, "external_id": f"o{i:08d}",
                    "created_at": T0,
                })  # fmt: skip
            async with db.transaction() as s:
                await s.execute(insert(Respondent), people)
                await s.execute(insert(ChannelIdentity), identities)
        if url.startswith("postgresql"):
            async with db.transaction() as s:
                from sqlalchemy import text

                await s.execute(text("SELECT setval('respondents_id_seq', (SELECT max(id) FROM respondents))"))
                await s.execute(text("ANALYZE"))
    return dict(kinds)


async def run_campaign(url: str, per_minute: int) -> None:
    from sqlalchemy import func, select

    from bot.dispatch.dispatcher import dispatch_once
    from bot.dispatch.scheduler import run_due_jobs_once
    from bot.services import campaigns
    from bot.services.catalog import FlowCache
    from bot.services.jobs import JobConfig, campaign_tick
    from bot.services.staff import StaffPrincipal
    from flows.engine import DEFAULT_CONFIG
    from storage.db import Database
    from storage.models import CampaignMember, Organisation, OutboxMessage

    async with Database(url) as db:
        async with db.transaction() as s:
            city = await s.scalar(select(Organisation).where(Organisation.code == "chengdu"))
            assert city is not None
            me = StaffPrincipal(
                id=0, username="bench", name="bench", role="admin", organisation_id=city.id,
                organisation_code=city.code, organisation_name=city.name, organisation_path=city.path, session_id=0,
                session_kind="bearer", csrf_token=None,
            )  # fmt: skip
            draft = campaigns.CampaignDraft(
                name="bench", flow="humanitarian_aid", per_minute=per_minute, max_reminders=0, cooldown_days=0
            )
            campaign_id = (await campaigns.create_campaign(s, me, draft, now=T0)).id
        started = time.perf_counter()
        async with db.transaction() as s:
            _, selected = await campaigns.start_campaign(s, me, campaign_id, now=T0)
        selection_s = time.perf_counter() - started
        print(f"selection: {selected:,} members in {selection_s:.2f} s (one INSERT … SELECT)")

        config = JobConfig(engine=DEFAULT_CONFIG, flows=FlowCache(), expire_sweep_every=timedelta(hours=1))
        sender = RecordingSender()
        senders = {"wechat": sender, "telegram": sender}
        handlers = {campaign_tick.KIND: campaign_tick.run}
        async with db.transaction() as s:
            await campaign_tick.ensure_scheduled(s, now=T0)
        tick_s = dispatch_s = 0.0
        minute = 0
        while True:
            now = T0 + timedelta(minutes=minute)
            t = time.perf_counter()
            await run_due_jobs_once(
                db, handlers, now=now, batch=5, stale_after=timedelta(minutes=5), max_attempts=3, config=config
            )
            tick_s += time.perf_counter() - t
            t = time.perf_counter()
            while (await dispatch_once(db, senders, now=now + timedelta(seconds=30), batch=500)).claimed:
                pass
            dispatch_s += time.perf_counter() - t
            async with db.transaction() as s:
                left = await s.scalar(
                    select(func.count())
                    .select_from(CampaignMember)
                    .where(CampaignMember.campaign_id == campaign_id, CampaignMember.status == "queued")
                )
            minute += 1
            if minute % 10 == 0:
                print(f"  simulated minute {minute}: {left:,} still queued", flush=True)
            if not left:
                break
        # One more tick reads back what the dispatcher did (reached).
        await run_due_jobs_once(
            db, handlers, now=T0 + timedelta(minutes=minute), batch=5, stale_after=timedelta(minutes=5),
            max_attempts=3, config=config,
        )  # fmt: skip

        async with db.transaction() as s:
            rows = list(
                await s.execute(
                    select(OutboxMessage.respondent_id, OutboxMessage.account, OutboxMessage.created_at).where(
                        OutboxMessage.kind == "invitation"
                    )
                )
            )
            members = list(
                await s.execute(
                    select(
                        CampaignMember.respondent_id,
                        CampaignMember.channel,
                        CampaignMember.status,
                        CampaignMember.reached_at,
                    ).where(CampaignMember.campaign_id == campaign_id)  # fmt: skip
                )
            )
            progress = await campaigns.campaign_progress(s, me.scope, campaign_id)
    per_account_minute = Counter((account, created.replace(second=0, microsecond=0)) for _, account, created in rows)
    per_recipient = Counter(r for r, _, _ in rows)
    invited = set(per_recipient)
    with_channel = {r for r, channel, _, _ in members if channel is not None}
    lost = len(with_channel - invited)
    doubled = sum(1 for n in per_recipient.values() if n > 1)
    sent_twice = sum(1 for n in Counter(row_id for row_id, _, _ in sender.calls).values() if n > 1)
    busiest = max(per_account_minute.values(), default=0)
    full = [n for n in per_account_minute.values()]
    print(f"simulated minutes: {minute} (08:00 → {(T0 + timedelta(hours=8, minutes=minute)):%H:%M} Shanghai)")
    print(f"invitations per simulated minute per account: max {busiest}, mean {sum(full) / max(len(full), 1):.0f}"
          f" (per_minute {per_minute}, {len({a for a, _ in per_account_minute})} accounts)")  # fmt: skip
    print(f"outbox invitation rows: {len(rows):,}; distinct recipients: {len(invited):,}; sender calls: "
          f"{len(sender.calls):,}")  # fmt: skip
    print(f"members: {len(members):,}; with a chat channel: {len(with_channel):,}; on the call list "
          f"(unreachable): {sum(progress.unreachable.values()):,}; reached: {progress.reached:,}")  # fmt: skip
    print(f"lost (chat members without an invitation): {lost}; doubled (recipients with >1 invitation): {doubled}; "
          f"rows sent twice: {sent_twice}")  # fmt: skip
    print(f"time in the campaign job: {tick_s:.1f} s; in the dispatcher: {dispatch_s:.1f} s")
    if lost or doubled or sent_twice or busiest > per_minute:
        raise SystemExit("FAILED: lost, doubled or over the throttle")


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.sqlite:
        folder = tempfile.mkdtemp(prefix="huifang-bench-")
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
    else:
        admin_url = os.environ.get("HUIFANG_DATABASE_URL", DEFAULT_PG)
        from sqlalchemy import make_url

        url = make_url(admin_url).set(database=BENCH_DB).render_as_string(hide_password=False)
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        await _admin(admin_url, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        t = time.perf_counter()
        kinds = await build(url, args.respondents)
        print(f"{'SQLite' if args.sqlite else 'PostgreSQL'}: built {args.respondents:,} respondents {kinds} in "
              f"{time.perf_counter() - t:.1f} s")  # fmt: skip
        await run_campaign(url, args.per_minute)
    finally:
        if not args.sqlite:
            await _admin(admin_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(f"wall time: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--per-minute", type=int, default=1000, help="the campaign's throttle per account")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
