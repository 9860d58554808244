"""A fake WeChat Official Account API, served over real TCP on 127.0.0.1.

    async with FakeWeChatApi(apps={"wx123": "secret"}) as fake:
        api = WeChatApi(keys, http=httpx.AsyncClient(), redis=r, base_url=fake.base_url)
        fake.fail_next("/cgi-bin/message/custom/send", 45015)
        ...
        assert fake.count("/cgi-bin/stable_token") == 1

It keeps the parts of WeChat's behaviour the bot depends on: tokens per app, send calls
refused with 40001 for an unknown or expired token, stable_token returning the same token
until forced, errcodes and delays injected per path, every request recorded in order.
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
SEND_PATHS = (
    "/cgi-bin/message/custom/send",
    "/cgi-bin/message/template/send",
    "/cgi-bin/qrcode/create",
)
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40125: "invalid appsecret",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    raw: bytes


@dataclass
class _Injected:
    errcode: int | None = None
    delay_s: float = 0.0


@dataclass
class FakeWeChatApi:
    apps: dict[str, str] = field(default_factory=lambda: {"wx-fake-app": "fake-secret"})
    requests: list[RecordedRequest] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._tokens: dict[str, str] = {}  # token -> app_id; expire_tokens() empties it
        self._current: dict[str, str] = {}  # app_id -> the token stable_token hands out
        self._serial = itertools.count(1)
        self._injected: dict[str, deque[_Injected]] = defaultdict(deque)
        self._closing = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = self._build_app()

    # --- control, for tests -----------------------------------------------------------

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls of `path` answer `errcode` (after the token check)."""
        self._injected[path].extend(_Injected(errcode=errcode) for _ in range(times))

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `path` wait `seconds` before answering normally."""
        self._injected[path].extend(_Injected(delay_s=seconds) for _ in range(times))

    def reset(self) -> None:
        """Forget tokens, injections and recorded requests, as if freshly started."""
        self.requests.clear()
        self._injected.clear()
        self.expire_tokens()

    def expire_tokens(self) -> None:
        self._tokens.clear()
        self._current.clear()

    def calls(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        return len(self.calls(path))

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> FakeWeChatApi:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only then,
        # and without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # the kernel picks a free port, no race
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task  # surfaces the startup error
            await asyncio.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # cut injected delays short so shutdown is quick
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    # --- the API ----------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/cgi-bin/stable_token")
        async def stable_token(request: Request) -> JSONResponse:
            body = await self._record(request)
            if (early := await self._inject(request.url.path)) is not None:
                return early
            if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
                return _error(47001)
            if (refusal := self._check_app(body.get("appid"), body.get("secret"))) is not None:
                return refusal
            app_id = body["appid"]
            if body.get("force_refresh") or app_id not in self._current:
                self._current[app_id] = self._issue(app_id)
            return JSONResponse({"access_token": self._current[app_id], "expires_in": TOKEN_TTL_S})

        @app.get("/cgi-bin/token")
        async def token(request: Request) -> JSONResponse:
            await self._record(request)
            if (early := await self._inject(request.url.path)) is not None:
                return early
            q = request.query_params
            if q.get("grant_type") != "client_credential":
                return _error(47001)
            if (refusal := self._check_app(q.get("appid"), q.get("secret"))) is not None:
                return refusal
            # The classic endpoint issues a new token on every call.
            app_id = q["appid"]
            self._current[app_id] = self._issue(app_id)
            return JSONResponse({"access_token": self._current[app_id], "expires_in": TOKEN_TTL_S})

        async def send(request: Request) -> JSONResponse:
            body = await self._record(request)
            if request.query_params.get("access_token") not in self._tokens:
                return _error(40001)
            if (early := await self._inject(request.url.path)) is not None:
                return early
            if not isinstance(body, dict) or (not body.get("touser") and "action_name" not in body):
                return _error(47001)
            if request.url.path.endswith("/qrcode/create"):
                ticket = f"gQ-fake-ticket-{next(self._serial)}=="
                answer = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket}"}
                if "expire_seconds" in body:
                    answer["expire_seconds"] = body["expire_seconds"]
                return JSONResponse(answer)
            answer = {"errcode": 0, "errmsg": "ok"}
            if request.url.path.endswith("/template/send"):
                answer["msgid"] = next(self._serial)
            return JSONResponse(answer)

        for path in SEND_PATHS:
            app.add_api_route(path, send, methods=["POST"])
        return app

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            RecordedRequest(request.method, request.url.path, dict(request.query_params), body, raw)
        )
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

    def _check_app(self, app_id: Any, secret: Any) -> JSONResponse | None:
        if app_id not in self.apps:
            return _error(40013)
        if secret != self.apps[app_id]:
            return _error(40125)
        return None

    def _issue(self, app_id: str) -> str:
        token = f"fake-token-{app_id}-{next(self._serial)}"
        self._tokens[token] = app_id
        return token


def _error(errcode: int) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})
