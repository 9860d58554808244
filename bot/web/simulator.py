"""The browser chat simulator: a respondent's view of the bot, through the same runtime.

A demo tool, yet reachable by anyone who reaches the server, so:
- the server issues each visitor id and binds it to the browser with a signed, HttpOnly,
  SameSite=Strict cookie; a request naming a visitor id its cookie does not vouch for gets 403
  (guessing or reading someone's id from a screen or a log does not let one answer for them);
- each client address gets a bounded number of requests per window (429);
- text the database cannot store or the engine should not see (NUL and other control
  characters, lone surrogates, very long text) is refused with 422 before anything is written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from bot.channels.base import Inbound, OutMessage, Reply
from bot.services.catalog import category_names, surveys_exist
from bot.services.runtime import Runtime
from bot.settings import Settings
from bot.web.client_limits import RateLimit

COOKIE = "huifang_simulator"
MAX_TEXT = 2000

_VISITOR_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
VisitorId = Annotated[str, StringConstraints(pattern=_VISITOR_PATTERN)]
MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

# Tab, newline and carriage return are ordinary in typed or pasted text; other C0 controls
# and DEL are not, and PostgreSQL refuses NUL in text outright (a 500 if it got that far).
_CONTROL = {c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0x7F}


def _printable(value: str) -> str:
    if any(ord(ch) in _CONTROL for ch in value):
        raise ValueError("不能包含控制字符 control characters are not allowed")
    return value


# Lone surrogates never get here: pydantic refuses them (string_unicode) with a 422.
CleanText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_printable)]


class StartIn(BaseModel):
    visitor: VisitorId
    category: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
    lang: str = Field(default="zh", pattern="^(zh|en)$")
    message_id: MessageId


class MessageIn(BaseModel):
    visitor: VisitorId
    text: CleanText
    message_id: MessageId


class CategoryOut(BaseModel):
    code: str
    zh: str
    en: str


class VisitorOut(BaseModel):
    visitor: str


class VisitorSigner:
    """Visitor ids the server issued, and the cookie that proves a browser holds one."""

    def __init__(self, key: bytes):
        self._key = key

    def issue(self) -> tuple[str, str]:
        visitor = secrets.token_urlsafe(18)
        return visitor, f"{visitor}.{self._sign(visitor)}"

    def holder(self, cookie: str | None) -> str | None:
        """The visitor id this cookie vouches for, or None."""
        visitor, _, signature = (cookie or "").rpartition(".")
        if not visitor or not hmac.compare_digest(signature, self._sign(visitor)):
            return None
        return visitor

    def _sign(self, visitor: str) -> str:
        mac = hmac.new(self._key, b"huifang simulator visitor\0" + visitor.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _choice_line(number: int, label: str) -> str:
    return f"{number}. {label}"  # as flows.render writes the numbered list


def _message_out(m: OutMessage) -> dict:
    text = m.text
    if m.choices:
        # The page shows the options as buttons (number and words), so the numbered list a
        # WeChat user reads is left out of the text: each option appears once.
        listed = {_choice_line(c.number, c.label) for c in m.choices}
        text = "\n".join(line for line in m.text.split("\n") if line.strip() not in listed)
    return {
        "text": text,
        "choices": [{"number": c.number, "label": c.label} for c in m.choices],
        "multiple": m.multiple,
    }


def _out(reply: Reply) -> dict:
    return {"duplicate": reply.duplicate, "messages": [_message_out(m) for m in reply.messages]}


def simulator_router(
    settings: Settings,
    *,
    limiter: RateLimit | None = None,
    key: bytes | None = None,
) -> APIRouter:
    secret = settings.simulator_secret.get_secret_value().encode() if settings.simulator_secret else None
    signer = VisitorSigner(key or secret or secrets.token_bytes(32))
    limiter = limiter or RateLimit(settings.simulator_rate_limit, settings.simulator_rate_window_s)

    def rate_limited(request: Request) -> None:
        wait = limiter.check(request.client.host if request.client else "unknown")
        if wait is not None:
            raise HTTPException(
                429,
                detail="请求太频繁，请稍等几秒再试。Too many requests; please wait a few seconds.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def owned(request: Request, visitor: str) -> None:
        if signer.holder(request.cookies.get(COOKIE)) != visitor:
            raise HTTPException(
                403,
                detail="这不是您的对话，请点“开始”重新开始。This conversation is not yours; press Start to begin one.",
            )

    router = APIRouter(tags=["simulator"])
    # A message is at most MAX_TEXT characters: a larger body is refused before it is read.
    api = APIRouter(prefix="/simulator/api", dependencies=[Depends(rate_limited)], max_body_size=64 * 1024)

    @router.get("/simulator", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> Response:
        html = files("bot.web").joinpath("simulator.html").read_text(encoding="utf-8")
        # Everything the page needs is in it or served here: no CDN, no fonts from elsewhere.
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @api.get("/categories", response_model=list[CategoryOut])
    async def categories(request: Request) -> list[CategoryOut]:
        runtime = _runtime(request)
        names = await category_names(runtime.db, runtime.flows)
        return [CategoryOut(code=code, zh=name.zh, en=name.en) for code, name in names]

    @api.post("/visitor", response_model=VisitorOut)
    async def visitor(request: Request, response: Response) -> VisitorOut:
        """A new visitor id for this browser: each 开始 Start is a new conversation."""
        visitor_id, cookie = signer.issue()
        response.set_cookie(
            COOKIE, cookie, path="/simulator", httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return VisitorOut(visitor=visitor_id)

    @api.post("/start")
    async def start(body: StartIn, request: Request) -> dict:
        owned(request, body.visitor)
        runtime = _runtime(request)
        if not await surveys_exist(runtime.db, runtime.flows, body.category):
            raise HTTPException(404, detail=f"未知的类别 unknown category: {body.category}")
        reply = await runtime.handle(
            Inbound(
                channel="simulator",
                account="local",
                external_id=body.visitor,
                kind="start",
                delivery_key=f"simulator:{body.visitor}:{body.message_id}",
                at=datetime.now(UTC),
                start_payload=body.category,
                lang=body.lang,
            )
        )
        return _out(reply)

    @api.post("/message")
    async def message(body: MessageIn, request: Request) -> dict:
        owned(request, body.visitor)
        reply = await _runtime(request).handle(
            Inbound(
                channel="simulator",
                account="local",
                external_id=body.visitor,
                kind="text",
                delivery_key=f"simulator:{body.visitor}:{body.message_id}",
                at=datetime.now(UTC),
                text=body.text,
            )
        )
        return _out(reply)

    router.include_router(api)
    return router
