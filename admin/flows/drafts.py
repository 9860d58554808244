"""What the flow pages make of drafts, errors and diffs for the browser."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePath
from typing import Any

from admin.flows.schemas import SimulateIn
from bot.channels.base import OutMessage
from bot.services import flow_versions as service
from bot.services.draft_simulator import simulate_draft
from flows.engine import EngineConfig
from flows.lint_zh import zh_message
from flows.source import FlowError

FLOW_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
BAD_ID = (
    "流程代码只能用小写字母、数字和下划线，以字母开头"
    " a flow id is lowercase letters, digits and _, starting with a letter"
)
COPY_FIRST = (
    "这个流程属于上级机构或共享，不能直接修改；请先复制到本机构。"
    " This flow belongs to an organisation above yours or is shared: copy it into your organisation to change it."
)


def error_list(errors: list[FlowError]) -> list[dict[str, Any]]:
    """In the order of the lines they are on (the checks find them in another order)."""
    ordered = sorted(errors, key=lambda e: (e.line is None, e.line or 0))
    return [{"line": e.line, "path": e.path, "message": e.message, "zh": zh_message(e.message)} for e in ordered]


def stem(file_name: str) -> str:
    """A safe flow-file name from an uploaded file's name (which the browser chose)."""
    cleaned = re.sub(r"[^\w.-]", "_", PurePath(file_name.replace("\\", "/")).stem)[:80].strip("._")
    return cleaned or "form"


def status_of(exc: Exception) -> int:
    if isinstance(exc, service.FlowNotFound):
        return 404
    if isinstance(exc, service.FlowNotYours):
        return 403
    if isinstance(exc, service.FlowBelongsElsewhere):
        return 409
    return 422


def suggested_copy_id(code: str, organisation: str) -> str:
    prefix = re.sub(r"[^a-z0-9_]", "_", organisation.lower()) or "org"
    candidate = f"{prefix}_{code}"
    return candidate[:63] if FLOW_ID_RE.match(candidate) else f"org_{code}"[:63]


def diff_rows(text: str) -> list[tuple[str, str]]:
    """(class, line) of a unified diff, for a page that colours what was added and removed."""
    rows = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        rows.append((kind, line))
    return rows


def _message(m: OutMessage) -> dict[str, Any]:
    return {"text": m.text, "choices": [{"number": c.number, "label": c.label} for c in m.choices]}


def simulate(body: SimulateIn, *, now: datetime, config: EngineConfig) -> dict[str, Any]:
    sim = simulate_draft(body.text, list(body.inputs), lang=body.lang, now=now, config=config)
    if sim.errors:
        return {"ok": False, "errors": error_list(sim.errors), "turns": []}
    return {
        "ok": True,
        "errors": [],
        "lifecycle": sim.lifecycle,
        "step": sim.step,
        "turns": [{"said": t.said, "messages": [_message(m) for m in t.messages], "notes": t.notes} for t in sim.turns],
    }
