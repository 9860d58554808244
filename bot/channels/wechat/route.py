"""GET/POST /wechat/{account}: WeChat's webhook for each Official Account.

    GET   URL verification → the bare echostr as text/plain
    POST  unknown account → 404, nothing read or stored
          body capped (Content-Length and what is actually read) → 413
          verify + decrypt + parse (bot.channels.wechat.webhook) → 403/400, logged
          plaintext only: a used (timestamp, nonce) with another message → 403 (`ReplayGuard`)
          runtime.handle in one transaction, given the reply budget (default 4 s):
            in time → passive reply XML (encrypted in safe mode), or "success" if silent
            too late → "success" now; when the work is done its reply goes to the outbox

The work is never cancelled when the budget runs out or the client goes away: its
transaction commits or rolls back on its own, and a late reply is queued as kind "reply"
with dedup key "reply:<delivery key>", so it is sent once. A turn that reaches its end
near or past the budget keeps its reply inside its own transaction (a `KeepReply` with a
deadline, applied by the runtime), so a
crash right after the commit cannot lose it; only a commit that itself outlasts the budget
leaves the queueing to `_reply_later`, after the commit.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from bot.channels.base import Inbound, Reply
from bot.channels.wechat.accounts import AccountConfig
from bot.channels.wechat.intents import interpret
from bot.channels.wechat.replay import ReplayGuard
from bot.channels.wechat.webhook import (
    SUCCESS,
    ParsedRequest,
    WeChatRequestError,
    build_reply,
    parse_request,
    verify_url,
)
from bot.services.outbound import KeepReply, ReplyPart, queue_late_reply
from bot.services.runtime import Runtime, Turn
from bot.settings import Settings

log = logging.getLogger(__name__)

PATH = "/wechat/{account}"
SHUTDOWN_GRACE_S = 10.0  # how long shutdown waits for unfinished work and late replies


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


def wechat_router(settings: Settings, *, replay_guard: ReplayGuard | None = None) -> APIRouter:
    """The accounts and the replay guard come from the app's container (bot.container) when
    the app starts; `replay_guard` replaces the container's, for tests."""
    state: dict[str, Any] = {}
    # Strong references: the event loop keeps only weak ones, and work must outlive a
    # request whose client went away.
    inflight: set[asyncio.Task[Turn]] = set()
    late: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Runs inside the app's lifespan, after the container is open and before it closes.
        state["accounts"] = app.state.container.wechat_accounts
        state["pairs"] = replay_guard or app.state.container.replay_guard
        try:
            yield
        finally:
            # Work whose client went away, and late replies on their way to the outbox.
            unfinished: set[asyncio.Task[Any]] = {*inflight, *late}
            if unfinished:
                _, pending = await asyncio.wait(unfinished, timeout=SHUTDOWN_GRACE_S)
                for task in pending:
                    log.error("wechat: shutting down with a message still being handled")
                    task.cancel()
            state.clear()

    router = APIRouter(tags=["wechat"], lifespan=lifespan)

    async def account_of(name: str) -> AccountConfig:
        try:
            account = await state["accounts"].get(name)
        except ValueError as exc:
            log.error("wechat %s: %s", name, exc)
            raise _Refused(503, "account misconfigured") from None
        if account is None:
            raise _Refused(404, "unknown account")
        return account

    @router.get(PATH, response_class=PlainTextResponse, summary="WeChat URL verification")
    async def verify(account: str, request: Request) -> Response:
        try:
            config = await account_of(account)
            q = request.query_params
            echostr = verify_url(
                config.keys,
                q.get("signature"),
                q.get("timestamp"),
                q.get("nonce"),
                q.get("echostr"),
                datetime.now(UTC),
                replay_window_s=settings.wechat_replay_window_s,
            )
        except (_Refused, WeChatRequestError) as exc:
            return _refusal(account, request, exc.status, exc.reason)
        # The echostr is the caller's text: no browser may sniff it into HTML.
        return PlainTextResponse(echostr, headers={"X-Content-Type-Options": "nosniff"})

    @router.post(
        PATH,
        summary="WeChat messages and events",
        responses={
            200: {"content": {"application/xml": {}, "text/plain": {}}},
            400: {"description": "not a WeChat message"},
            403: {"description": "bad signature or replayed request"},
            404: {"description": "no such account"},
            413: {"description": "body too large"},
        },
    )
    async def receive(account: str, request: Request) -> Response:
        try:
            config = await account_of(account)
            body = await _read_capped(request, settings.wechat_max_body)
            parsed = parse_request(
                config.keys,
                query=request.query_params,
                body=body,
                now=datetime.now(UTC),
                max_body=settings.wechat_max_body,
                replay_window_s=settings.wechat_replay_window_s,
            )
            if not parsed.encrypted:
                await _check_pair(state["pairs"], config, request, parsed)
        except (_Refused, WeChatRequestError) as exc:
            return _refusal(account, request, exc.status, exc.reason)
        if parsed.inbound is None:
            return PlainTextResponse(SUCCESS)

        inbound = replace(interpret(parsed.inbound, parsed.msg_type), organisation_id=config.organisation_id)
        runtime: Runtime = request.app.state.runtime
        budget = settings.wechat_reply_budget_s
        # A turn ending after this (the budget less a margin for the commit: a quarter of
        # it, at most 0.5 s) keeps its reply in the outbox with itself, and the webhook
        # answers "success": a passive reply could arrive too late to be shown.
        keep = _keep(asyncio.get_running_loop().time() + budget - min(0.5, budget / 4))
        work = asyncio.create_task(runtime.handle_turn(inbound, keep=keep))
        inflight.add(work)
        work.add_done_callback(inflight.discard)
        done, _ = await asyncio.wait({work}, timeout=budget)
        if not done:
            finisher = asyncio.create_task(_reply_later(runtime.db, work, inbound, keep))
            late.add(finisher)
            finisher.add_done_callback(late.discard)
            log.warning(
                "wechat %s: reply for %s not ready within %.3f s; it goes through the outbox",
                account,
                inbound.delivery_key,
                budget,
            )
            return PlainTextResponse(SUCCESS)
        try:
            turn = work.result()
        except Exception:
            # Nothing was committed: a 500 makes WeChat deliver it again.
            log.exception("wechat %s: handling %s failed", account, inbound.delivery_key)
            return PlainTextResponse("error", status_code=500)
        if turn.kept is not None:
            return PlainTextResponse(SUCCESS)  # the outbox has it; a passive copy would double it
        reply = turn.reply
        return _passive(config, parsed, reply)

    return router


def _keep(deadline: float) -> KeepReply:
    return KeepReply(parts=_whole, key=_reply_key, deadline=deadline)


def _whole(reply: Reply) -> list[ReplyPart]:
    # One customer-service message: the passive reply it stands in for was one message too.
    return [ReplyPart(reply.text)] if reply.text.strip() else []


def _reply_key(delivery_key: str, index: int) -> str:
    return f"reply:{delivery_key}"


def _passive(config: AccountConfig, parsed: ParsedRequest, reply: Reply) -> Response:
    text = reply.text
    if not text.strip():
        return PlainTextResponse(SUCCESS)
    xml = build_reply(
        config.keys, parsed, text, now=datetime.now(UTC), nonce=str(secrets.randbelow(10**10))
    )
    return Response(xml, media_type="application/xml")


async def _reply_later(db: Any, work: asyncio.Task[Turn], inbound: Inbound, keep: KeepReply) -> None:
    """Queue the reply of work that outlived the budget, once it is done (unless the turn
    kept it itself)."""
    try:
        turn = await work
    except Exception:
        # Rolled back, and WeChat was told "success": it will not deliver this again.
        log.exception("wechat %s: late handling of %s failed", inbound.account, inbound.delivery_key)
        return
    # A duplicate's reply belongs to the first delivery, which answered or queued it.
    if turn.kept is not None or turn.reply.duplicate or not turn.reply.text.strip():
        return
    try:
        await queue_late_reply(db, inbound, turn.reply, keep)
    except Exception:
        log.exception(
            "wechat %s: the late reply to %s could not be queued", inbound.account, inbound.delivery_key
        )


async def _check_pair(guard: ReplayGuard, config: AccountConfig, request: Request, parsed: ParsedRequest) -> None:
    q = request.query_params
    timestamp, nonce = q.get("timestamp"), q.get("nonce")
    assert timestamp is not None and nonce is not None  # parse_request checked both
    try:
        admitted = await guard.admit(config.name, timestamp, nonce, parsed.identity)
    except Exception:
        # Fail closed: WeChat retries a 503, and a replay must not pass while Redis is away.
        log.exception("wechat %s: the replay guard is unavailable", config.name)
        raise _Refused(503, "replay guard unavailable") from None
    if not admitted:
        raise _Refused(403, "replayed timestamp and nonce")


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _Refused(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, "body too large")
    return bytes(body)


def _refusal(account: str, request: Request, status: int, reason: str) -> Response:
    client = request.client.host if request.client is not None else "?"
    log.warning("wechat %s: refused %s %s from %s: %s", account, request.method, status, client, reason)
    return PlainTextResponse(reason, status_code=status)
