"""The flow editor's simulator: a draft (unpublished text) answered exactly as the engine
answers a published flow, and nothing stored.

The conversation is the pure engine's (`engine.start` / `engine.resume`), and its messages
are what the runtime's `message_sent` handler makes of the same events, so the draft speaks
as it would once published. Where the runtime would write (answers, tickets, the session),
the simulator only says what would happen. It keeps no state: the browser sends the whole
list of what the tester typed, and the draft is replayed from its start each time (a few
hundred engine steps take milliseconds), so an edited draft is simply replayed with the same
answers and nothing of a draft ever reaches respondents, sessions or reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.channels.base import OutMessage
from bot.services.flow_versions import validate_draft
from bot.services.requests import HUMAN_NOTE
from bot.services.text_kinds import asks_for_a_person, classify_text
from flows import engine, messages
from flows import events as ev
from flows.engine import EngineConfig, Input
from flows.machine import TERMINAL
from flows.source import FlowError

MAX_INPUTS = 300

__all__ = ["MAX_INPUTS", "SimTurn", "Simulation", "simulate_draft"]


@dataclass(frozen=True, slots=True)
class SimTurn:
    said: str | None  # what the tester typed; None for the greeting
    messages: list[OutMessage]
    notes: list[str]  # what the runtime would store or open, said in zh + en


@dataclass(frozen=True, slots=True)
class Simulation:
    turns: list[SimTurn] = field(default_factory=list)
    lifecycle: str | None = None
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    errors: list[FlowError] = field(default_factory=list)  # the draft does not load: nothing ran


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _outcome(events: list[ev.Event]) -> tuple[list[OutMessage], list[str]]:
    out: list[OutMessage] = []
    notes: list[str] = []
    for e in events:
        if isinstance(e, ev.MessageSent):
            out.append(OutMessage(text=e.text, choices=e.choices, multiple=e.multiple))
        elif isinstance(e, ev.AnswerRecorded):
            how = "跳过 skipped" if e.skipped else "原话 kept as typed" if not e.parsed else _value(e.value)
            notes.append(f"记录答案 answer {e.question_id} = {how}")
        elif isinstance(e, ev.EscalationRequested):
            opens = e.reason.startswith(("option:", "value")) or classify_text(e.raw)[1]
            if opens:
                notes.append(f"将生成工单 would open a ticket: {e.question_id} ({e.reason}, 队列 queue {e.queue})")
            else:
                notes.append(f"不生成工单 no ticket: {e.question_id} 的回答不是投诉或求助 is no complaint or request")
        elif isinstance(e, ev.ConsentGiven):
            notes.append("同意参加 consent given")
        elif isinstance(e, ev.ConsentDeclined):
            notes.append("拒绝参加 declined")
        elif isinstance(e, ev.SessionCompleted):
            notes.append("问卷完成 survey completed")
        elif isinstance(e, ev.SessionRestarted):
            notes.append("重新开始 restarted")
        elif isinstance(e, ev.OptedOut):
            notes.append("已退订 opted out: 此后不再发送任何消息 nothing is ever sent again")
        elif isinstance(e, ev.SessionExpired):
            notes.append(f"会话结束 session ended ({e.reason})")
    return out, notes


def simulate_draft(
    text: str,
    inputs: list[str],
    *,
    lang: str,
    now: datetime,
    config: EngineConfig = engine.DEFAULT_CONFIG,
) -> Simulation:
    """The draft's conversation with `inputs` typed one after another."""
    flow, errors = validate_draft("draft.yaml", text)
    if flow is None:
        return Simulation(errors=errors)
    step = engine.start(flow, {"lang": lang, "source": "console"}, now)
    turns = [SimTurn(None, *_outcome(step.events))]
    state = step.state
    for said in inputs[:MAX_INPUTS]:
        if state["lifecycle"] == "opted_out":
            turns.append(SimTurn(said, [], ["已退订：不回复 opted out: no reply"]))
            continue
        if state["lifecycle"] in TERMINAL:
            # As the runtime answers someone whose survey is over.
            done = OutMessage(messages.text(flow, "already_done", state.get("lang", lang)))
            turns.append(SimTurn(said, [done], []))
            continue
        if asks_for_a_person(said):
            # The runtime tells staff and asks the same question again; the survey waits.
            out, notes = _outcome(engine.prompt(flow, state).events)
            note = OutMessage(HUMAN_NOTE[state.get("lang", lang)])
            turns.append(SimTurn(said, [note, *out], ["将生成转人工工单 would open a ticket for a person", *notes]))
            continue
        step = engine.resume(flow, state, Input(said), now, config)
        state = step.state
        turns.append(SimTurn(said, *_outcome(step.events)))
    return Simulation(
        turns=turns, lifecycle=state["lifecycle"], step=state["step"], answers=dict(state.get("answers") or {})
    )
