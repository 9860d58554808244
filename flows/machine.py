"""Flows compiled into `transitions` state machines, once per flow version.

One Machine per flow version (cached), none per session: a session is a light object whose
`.state` is set from the stored JSON before an event is fired (design notes: a Machine costs
63–499 KiB, a trigger on a shared one about 6 µs).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from flows.graph import edges
from flows.schema import END, Condition, Flow

CONSENT = "consent"
DECLINED = "declined"

# Session lifecycle: every legal move, so an illegal one is refused rather than stored.
LIFECYCLE_STATES = ["invited", "active", "completed", "declined", "expired", "opted_out"]
TERMINAL = frozenset({"completed", "declined", "expired", "opted_out"})
LIFECYCLE_TRANSITIONS = [
    {"trigger": "activate", "source": "invited", "dest": "active"},
    {"trigger": "decline", "source": "invited", "dest": "declined"},
    {"trigger": "complete", "source": "active", "dest": "completed"},
    {"trigger": "expire", "source": ["invited", "active"], "dest": "expired"},
    {"trigger": "opt_out", "source": ["invited", "active"], "dest": "opted_out"},
]


class _Token:
    """The stand-in model a shared machine moves; only `.state` matters."""

    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


def _build_lifecycle() -> Machine:
    return Machine(
        model=None,
        states=LIFECYCLE_STATES,
        transitions=LIFECYCLE_TRANSITIONS,
        initial="invited",
        auto_transitions=False,
    )


_LIFECYCLE = _build_lifecycle()


def lifecycle_move(current: str, trigger: str) -> str:
    """The lifecycle state after `trigger`, or MachineError if the move is illegal."""
    token = _Token(current)
    _LIFECYCLE.events[trigger].trigger(token)
    return token.state


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


def _guard(cond: Condition) -> Callable[[dict[str, Any]], bool]:
    def check(answers: dict[str, Any]) -> bool:
        return condition_holds(cond, answers)

    check.__name__ = f"{cond.question}_matches"  # shown in the Mermaid diagram
    return check


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    flow: Flow
    machine: Machine
    first: str

    def advance(self, current: str, answers: dict[str, Any]) -> str:
        """Where the survey goes after `current` is answered (a question id or END)."""
        token = _Token(current)
        self.machine.events["advance"].trigger(token, answers)
        return token.state

    def consent(self, agreed: bool) -> str:
        token = _Token(CONSENT)
        self.machine.events["agree" if agreed else "refuse"].trigger(token)
        return token.state


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
_CACHE_SIZE = 256


def compile_flow(flow: Flow) -> CompiledFlow:
    key = (flow.id, flow.version, flow.content_hash)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    states, transitions = machine_spec(flow)
    machine = Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=CONSENT,
        auto_transitions=False,
        name=flow.id,
    )
    compiled = CompiledFlow(flow=flow, machine=machine, first=flow.questions[0].id)
    _CACHE[key] = compiled
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


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
    return model.get_graph().draw(None)


__all__ = [
    "CONSENT", "DECLINED", "END", "TERMINAL", "CompiledFlow", "MachineError",
    "compile_flow", "condition_holds", "lifecycle_move", "mermaid",
]
