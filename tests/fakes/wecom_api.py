"""A fake WeCom (企业微信) API, served over real TCP on 127.0.0.1.

    async with FakeWeComApi() as fake:
        channel = WeComChannel(corp_id=fake.corp_id, agent_id=fake.agent_id, secret=fake.secret,
                               api_base=fake.api_base)
        fake.fail_next("/cgi-bin/message/send", 60020)
        ...
        assert fake.count("/cgi-bin/gettoken") == 1

It keeps the parts of WeCom's behaviour the notifier depends on: gettoken hands out the same
token while it is valid (unlike an Official Account's), message/send refuses an unknown
token with 40014 and an expired one with 42001, members outside the application's visible
range come back in `invaliduser` with errcode 0 (81013 when nobody was valid); errcodes and
delays are injected per path, every request recorded in order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN_TTL_S = 7200
SEND_PATH = "/cgi-bin/message/send"
TOKEN_PATH = "/cgi-bin/gettoken"
ERRMSG = {
    -1: "system busy",
    40001: "invalid secret",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    42001: "access_token expired",
    44004: "empty content",
    60020: "not allow to access from your ip, hint: [1700000000_1_fake], from ip: 192.0.2.7",
    81013: "user & party & tag all invalid",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any


@dataclass
class _Injected:
    errcode: int | None = None
    delay_s: float = 0.0


@dataclass
class FakeWeComApi:
    corp_id: str = "ww-fake-corp"
    secret: str = "fake-wecom-secret"
    agent_id: int = 1000002
    members: set[str] = field(default_factory=lambda: {"zhangsan", "lisi", "wangwu"})
    requests: list[RecordedRequest] = field(default_factory=list)
    # (userid, content) of every message accepted for a member, in order
    delivered: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._valid: set[str] = set()
        self._expired: set[str] = set()
        self._current: str | None = None
        self._serial = itertools.count(1)
        self._injected: dict[str, deque[_Injected]] = defaultdict(deque)
        self._closing = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = self._build_app()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/cgi-bin/"

    # --- control, for tests -----------------------------------------------------------

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls of `path` answer `errcode` (after the token check)."""
        self._injected[path].extend(_Injected(errcode=errcode) for _ in range(times))

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `path` wait `seconds` before answering normally."""
        self._injected[path].extend(_Injected(delay_s=seconds) for _ in range(times))

    def expire_tokens(self) -> None:
        """Every token handed out so far is expired (42001); gettoken issues a new one."""
        self._expired |= self._valid
        self._valid.clear()
        self._current = None

    def calls(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        return len(self.calls(path))


    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> FakeWeComApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    # --- the API ----------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get(TOKEN_PATH)
        async def gettoken(request: Request) -> JSONResponse:
            await self._record(request)
            if (early := await self._inject(request.url.path)) is not None:
                return early
            q = request.query_params
            if q.get("corpid") != self.corp_id:
                return _error(40013)
            if q.get("corpsecret") != self.secret:
                return _error(40001)
            if self._current is None:
                self._current = f"fake-wecom-token-{next(self._serial)}"
                self._valid.add(self._current)
            return JSONResponse(
                {"errcode": 0, "errmsg": "ok", "access_token": self._current, "expires_in": TOKEN_TTL_S}
            )

        @app.post(SEND_PATH)
        async def send(request: Request) -> JSONResponse:
            body = await self._record(request)
            token = request.query_params.get("access_token")
            if token in self._expired:
                return _error(42001)
            if token not in self._valid:
                return _error(40014)
            if (early := await self._inject(request.url.path)) is not None:
                return early
            if not isinstance(body, dict) or body.get("agentid") != self.agent_id:
                return _error(40056)
            if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
                return _error(44004)
            wanted = [u for u in str(body.get("touser") or "").split("|") if u]
            invalid = [u for u in wanted if u not in self.members]
            if wanted and len(invalid) == len(wanted):
                return _error(81013)
            content = body["text"]["content"]
            self.delivered.extend((u, content) for u in wanted if u in self.members)
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "invaliduser": "|".join(invalid),
                    "invalidparty": "",
                    "invalidtag": "",
                    "unlicenseduser": "",
                    "msgid": f"fake-msgid-{next(self._serial)}",
                    "response_code": "",
                }
            )

        return app

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(request.method, request.url.path, dict(request.query_params), body))
        return body

    async def _inject(self, path: str) -> JSONResponse | None:
        queue = self._injected.get(path)
        if not queue:
            return None
        injected = queue.popleft()
        if injected.delay_s:
            try:
                await asyncio.wait_for(self._closing.wait(), injected.delay_s)
            except TimeoutError:
                pass
        return _error(injected.errcode) if injected.errcode is not None else None


def _error(errcode: int) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})
