"""Flows compiled into `transitions` state machines, once per flow version.

One Machine per flow version (cached), none per session: a session is a light object whose
`.state` is set from the stored JSON before an event is fired (design notes: a Machine costs
63–499 KiB, a trigger on a shared one about 6 µs).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from transitions import Machine, MachineError

from flows.graph import edges
from flows.lifecycles import (  # re-exported: the engine and storage read them from here too
    LIFECYCLE_STATES,
    TERMINAL,
    Route,
    fire,
    lifecycle_move,
    routes_of,
)
from flows.schema import END, Condition, Flow, Question

CONSENT = "consent"
DECLINED = "declined"

def condition_holds(cond: Condition, answers: dict[str, Any]) -> bool:
    if cond.question not in answers or answers[cond.question] is None:
        return cond.answered is False
    value = answers[cond.question]
    if cond.answered is False:
        return False
    picked = set(value) if isinstance(value, list) else {value}
    if cond.any_of is not None and not picked & set(cond.any_of):
        return False
    if cond.none_of is not None and picked & set(cond.none_of):
        return False
    if cond.min is not None or cond.max is not None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if cond.min is not None and value < cond.min:
            return False
        if cond.max is not None and value > cond.max:
            return False
    return True


def _describe(cond: Condition) -> str:
    parts = []
    if cond.any_of is not None:
        parts.append(f"{cond.question} in {'|'.join(cond.any_of)}")
    if cond.none_of is not None:
        parts.append(f"{cond.question} not in {'|'.join(cond.none_of)}")
    if cond.min is not None:
        parts.append(f"{cond.question} >= {cond.min:g}")
    if cond.max is not None:
        parts.append(f"{cond.question} <= {cond.max:g}")
    if cond.answered is not None:
        parts.append(f"{cond.question} {'answered' if cond.answered else 'unanswered'}")
    return " and ".join(parts)


def _guard(cond: Condition) -> Callable[[dict[str, Any]], bool]:
    def check(answers: dict[str, Any]) -> bool:
        return condition_holds(cond, answers)

    check.__name__ = _describe(cond)  # the label shown in the Mermaid diagram
    return check


@dataclass(frozen=True)
class CompiledFlow:
    flow: Flow
    machine: Machine
    first: str
    questions: dict[str, Question]
    routes: dict[tuple[str, str], tuple[Route, ...]]
    # Rendered prompts by (question id, language): immutable, so made once per flow version.
    prompts: dict[tuple[str, str], Any] = field(default_factory=dict)

    def advance(self, current: str, answers: dict[str, Any]) -> str:
        """Where the survey goes after `current` is answered (a question id or END)."""
        return fire(self.routes, "advance", current, answers)

    def consent(self, agreed: bool) -> str:
        return fire(self.routes, "agree" if agreed else "refuse", CONSENT)


def machine_spec(flow: Flow) -> tuple[list[str], list[dict[str, Any]]]:
    """States and transitions of a flow, for the engine's Machine and for diagrams."""
    states = [CONSENT, *(q.id for q in flow.questions), END, DECLINED]
    transitions: list[dict[str, Any]] = [
        {"trigger": "agree", "source": CONSENT, "dest": flow.questions[0].id},
        {"trigger": "refuse", "source": CONSENT, "dest": DECLINED},
    ]
    for e in edges(flow):
        t: dict[str, Any] = {"trigger": "advance", "source": e.source, "dest": e.target}
        if e.branch is not None and e.branch.when is not None:
            t["conditions"] = [_guard(e.branch.when)]
        transitions.append(t)
    return states, transitions


_CACHE: OrderedDict[tuple[str, int, str], CompiledFlow] = OrderedDict()
_BY_OBJECT: dict[int, tuple[Flow, CompiledFlow]] = {}
_CACHE_SIZE = 256


def compile_flow(flow: Flow) -> CompiledFlow:
    """The compiled machine of a flow version, built once and shared by every session."""
    # Same object as last time: skip hashing the content (most calls, one per message).
    known = _BY_OBJECT.get(id(flow))
    if known is not None and known[0] is flow:
        return known[1]
    key = (flow.id, flow.version, flow.content_hash)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = _compile(flow)
        _CACHE[key] = compiled
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    if len(_BY_OBJECT) >= _CACHE_SIZE:
        _BY_OBJECT.clear()
    _BY_OBJECT[id(flow)] = (flow, compiled)  # holding `flow` keeps its id from being reused
    return compiled


def _compile(flow: Flow) -> CompiledFlow:
    states, transitions = machine_spec(flow)
    machine = Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=CONSENT,
        auto_transitions=False,
        name=flow.id,
    )
    return CompiledFlow(
        flow=flow,
        machine=machine,
        first=flow.questions[0].id,
        questions={q.id: q for q in flow.questions},
        routes=routes_of(machine),
    )


def mermaid(flow: Flow) -> str:
    """A Mermaid state diagram, drawn by transitions' own GraphMachine.

    A throwaway machine: GraphMachine keeps a per-model graph cache it never releases.
    """
    from transitions.extensions import GraphMachine

    states, transitions = machine_spec(flow)

    class Model:
        pass

    model = Model()
    GraphMachine(
        model=model,
        states=states,
        transitions=transitions,
        initial=CONSENT,
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title=f"{flow.title.zh} / {flow.title.en}",
    )
    return cast(str, model.get_graph().draw(None))  # type: ignore[attr-defined]  # added by GraphMachine


__all__ = [
    "CONSENT", "DECLINED", "END", "LIFECYCLE_STATES", "TERMINAL", "CompiledFlow", "MachineError", "Route",
    "compile_flow", "condition_holds", "fire", "lifecycle_move", "mermaid", "routes_of",
]
