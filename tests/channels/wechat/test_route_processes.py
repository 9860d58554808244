"""`huifang serve --workers 2` and a second `huifang serve` on one PostgreSQL and Redis: real
processes receiving the same WeChat delivery, and one person's messages, at the same time."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.services.flows import prepare
from storage.db import Database
from storage.models import InboundMessage
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.channels.wechat.wechat_app import ACCOUNT, Follower, WeChatApp, add_account, read_reply

ROOT = Path(__file__).resolve().parents[3]
OVERALL = "您对红十字会的救助项目，总体评价怎么样？"
MAIN_PROBLEM = "您觉得现在的救助项目，最主要的问题是什么？"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry))
    return found


@contextmanager
def serving(
    env: dict[str, str], *args: str, log: list[str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # ends as soon as it answers
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "huifang serve did not come up within 90 s"
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0].decode()  # hang guard
        if log is not None:
            log.append(output)


async def _inbound_count(db: Database) -> int:
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(InboundMessage)) or 0


async def test_deliveries_to_two_processes_are_recorded_once_and_in_turn(pg_url: str, redis_url: str) -> None:
    db = Database(pg_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        await add_account(db)
        env = {
            **os.environ, "HUIFANG_DATABASE_URL": pg_url, "HUIFANG_REDIS_URL": redis_url,
            "HUIFANG_AUTO_MIGRATE": "false", "HUIFANG_PUBLISH_DEFAULT_FLOWS": "false", "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        log: list[str] = []
        with serving(env, "--workers", "2", log=log) as (base_a, proc_a), serving(env) as (base_b, _):
            assert len(_children(proc_a.pid)) >= 2  # uvicorn's supervisor and its two workers
            async with httpx.AsyncClient(base_url=base_a) as a, httpx.AsyncClient(base_url=base_b) as b:
                wx: Any = WeChatApp(app=None, client=a)  # type: ignore[arg-type]
                who = Follower(wx, "o-procs")
                await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
                assert OVERALL in await who.say("好的", twice=False)
                before = await _inbound_count(db)
                # WeChat's redeliveries of one message, three to each process at once.
                for text in ("很满意", "没问题", "不需要"):
                    request = who.text(text)
                    responses = await asyncio.gather(*(who.post(request, client=c) for c in (a, b, a, b, a, b)))
                    assert len({read_reply(r) for r in responses}) == 1
                assert await _inbound_count(db) == before + 3

                # Two messages of one person at once, one to each process: handled one
                # after the other, so one answers the rating and the other the next question.
                other = Follower(wx, "o-procs-2")
                await other.send(other.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
                assert OVERALL in await other.say("好的", twice=False)
                first, second = await asyncio.gather(
                    other.post(other.text("1"), client=a), other.post(other.text("2"), client=b)
                )
                replies = [read_reply(first) or "", read_reply(second) or ""]
                assert sum(MAIN_PROBLEM in r for r in replies) == 1, replies
        async with db.transaction() as s:
            answers = {}
            for openid in ("o-procs", "o-procs-2"):
                person = await RespondentRepository(s).by_identity("wechat", ACCOUNT, openid)
                assert person is not None
                [session] = await SessionRepository(s).list_for_respondent(person.id)
                answers[openid] = {a.question_id: a.value for a in await AnswerRepository(s).for_session(session.id)}
        # Each worker logs through huifang's masking handler (a new interpreter inherits none).
        assert log[0].count("INFO uvicorn.error: Application startup complete") == 2, log[0]
        assert answers["o-procs"] == {
            "overall": "very_good", "main_problem": "none", "other_services": ["not_needed"],
        }  # fmt: skip
        assert answers["o-procs-2"] in (
            {"overall": "very_good", "main_problem": "application_too_complex"},
            {"overall": "good", "main_problem": "standard_too_low"},
        )
    finally:
        await db.dispose()
