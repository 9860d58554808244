"""The browser chat simulator: a respondent's view of the bot, through the same runtime."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, StringConstraints

from bot.channels.base import Inbound, Reply
from bot.services.runtime import Runtime
from storage.repositories.flows import FlowRepository

router = APIRouter(tags=["simulator"])

VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class StartIn(BaseModel):
    visitor: VisitorId
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    lang: str = Field(default="zh", pattern="^(zh|en)$")
    message_id: MessageId


class MessageIn(BaseModel):
    visitor: VisitorId
    text: Annotated[str, StringConstraints(max_length=2000)]
    message_id: MessageId


class CategoryOut(BaseModel):
    code: str
    zh: str
    en: str


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _out(reply: Reply) -> dict:
    return {
        "duplicate": reply.duplicate,
        "messages": [
            {"text": m.text, "choices": [{"number": c.number, "label": c.label} for c in m.choices], "multiple": m.multiple}
            for m in reply.messages
        ],
    }


@router.get("/simulator", response_class=HTMLResponse, include_in_schema=False)
async def page() -> str:
    return files("bot.web").joinpath("simulator.html").read_text(encoding="utf-8")


@router.get("/simulator/api/categories", response_model=list[CategoryOut])
async def categories(request: Request) -> list[CategoryOut]:
    runtime = _runtime(request)
    async with runtime.db.transaction() as s:
        catalog = await runtime.flows.catalog(FlowRepository(s))
    return [CategoryOut(code=f.category.code, zh=f.category.name.zh, en=f.category.name.en) for _, f in catalog.flows]


@router.post("/simulator/api/start")
async def start(body: StartIn, request: Request) -> dict:
    runtime = _runtime(request)
    async with runtime.db.transaction() as s:
        catalog = await runtime.flows.catalog(FlowRepository(s))
    if catalog.find(body.category) is None:
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


@router.post("/simulator/api/message")
async def message(body: MessageIn, request: Request) -> dict:
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
