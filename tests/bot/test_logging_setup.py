"""Personal data stays out of the logs: uvicorn's access lines without query strings, openids
and mobile numbers masked in every record, and `huifang serve` / `huifang worker` set it up."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import main
from bot.logging_setup import PersonalDataFilter, configure_logging, mask
from bot.settings import Settings

OPENID = "oAbCdEfGhIjKlMnOpQrStUvW-xyz"  # "o" + 27, as WeChat makes them
PHONE = "13800138000"
SIGNATURE = "5b2c1d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx"):
        lg = logging.getLogger(name)
        saved[name] = (list(lg.handlers), lg.propagate, lg.level, list(lg.filters))
    yield
    root.handlers[:], root.level = saved_root
    for name, (handlers, propagate, level, filters) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.propagate, lg.level, lg.filters[:] = handlers, propagate, level, filters


def record(msg: str, *args: Any, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"no respondent {OPENID} at {PHONE}")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("bot.test", logging.INFO, __file__, 1, msg, args or None, exc_info)


def test_openids_and_phones_are_masked_in_messages_arguments_and_tracebacks() -> None:
    assert mask(f"openid={OPENID}&x=1") == "openid=oAbC…xyz&x=1"
    assert mask(f"电话{PHONE}。") == "电话138****8000。"
    # Longer runs are other things (message ids, tokens, timestamps) and are left alone.
    assert mask("12345678901234567890") == "12345678901234567890"
    assert mask("o" + "a" * 40) == "o" + "a" * 40

    formatter = logging.Formatter("%(message)s")
    for r in (
        record(f"from {OPENID} phone {PHONE}"),
        record("from %s phone %s", OPENID, PHONE),
        record("wechat:main:%s said %r", OPENID, {"phone": int(PHONE)}),
        record("lookup failed", exc=True),
    ):
        assert PersonalDataFilter().filter(r) is True
        line = formatter.format(r)
        assert OPENID not in line and PHONE not in line, line
        assert "oAbC…xyz" in line or "138****8000" in line


async def test_a_request_with_an_openid_in_the_query_logs_neither_it_nor_the_signature(
    tmp_path: Path, restore_logging: None
) -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    # As `huifang serve` runs it: log_config=None keeps configure_logging's handler.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="info", timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        query = {"signature": SIGNATURE, "timestamp": "1700000000", "nonce": "42", "openid": OPENID}
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{base}/wechat/nobody", params=query, content=b"<xml/>")
        assert response.status_code == 404
    finally:
        server.should_exit = True
        await task
    logged = out.getvalue()
    assert '"POST /wechat/nobody HTTP/1.1" 404' in logged, logged  # the access line is there
    for private in (OPENID, SIGNATURE, "openid="):
        assert private not in logged, logged


def test_serve_and_worker_log_through_the_filters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restore_logging: None
) -> None:
    runs: list[dict[str, Any]] = []

    def run(server: uvicorn.Server, sockets: Any = None) -> None:
        runs.append({"log_config": server.config.log_config})
        server.started = True  # as if it had served and stopped

    monkeypatch.setattr(uvicorn.Server, "run", run)
    env = {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "HUIFANG_AUTO_MIGRATE": "false"}
    served = CliRunner().invoke(main, ["serve"], env=env, catch_exceptions=False)
    assert served.exit_code == 0, served.output
    [kw] = runs
    assert "log_config" in kw and kw["log_config"] is None  # uvicorn's own handlers print queries
    assert any(isinstance(f, PersonalDataFilter) for h in logging.getLogger().handlers for f in h.filters)

    logging.getLogger().handlers.clear()

    async def no_work(settings: Settings) -> None:
        return None

    monkeypatch.setattr("bot.dispatch.worker.run_until_signalled", no_work)
    worked = CliRunner().invoke(main, ["worker"], env=env, catch_exceptions=False)
    assert worked.exit_code == 0, worked.output
    assert any(isinstance(f, PersonalDataFilter) for h in logging.getLogger().handlers for f in h.filters)
