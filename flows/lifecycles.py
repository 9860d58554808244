"""The lifecycles of a survey session and of a ticket, as `transitions` machines: every legal
move is listed, so an illegal one is refused (MachineError), not merely untested. Pure:
storage takes its statuses from here, and services move things only through these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from transitions import Machine, MachineError

Route = tuple[tuple[tuple[Callable[..., bool], bool], ...], str]  # ((guard, expected), …), dest


def routes_of(machine: Machine) -> dict[tuple[str, str], tuple[Route, ...]]:
    """The machine's own transition table, read once: (trigger, source) → ordered routes.

    Firing through `Event.trigger` costs 11–15 µs here (EventData, callbacks, logging) and
    is most of a message's time; the table gives the same answer — first transition whose
    conditions hold — in well under a microsecond. The Machine stays the one definition.
    """
    table: dict[tuple[str, str], tuple[Route, ...]] = {}
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            # machine_spec gives every transition a dest and callables (not names) as guards
            table[(name, source)] = tuple(
                cast(Route, (tuple((c.func, c.target) for c in t.conditions), t.dest)) for t in transitions
            )
    return table


def fire(table: dict[tuple[str, str], tuple[Route, ...]], trigger: str, current: str, *args: Any) -> str:
    for guards, dest in table.get((trigger, current), ()):
        if all(guard(*args) == expected for guard, expected in guards):
            return dest
    raise MachineError(f"Can't trigger event '{trigger}' from state '{current}'")


# --- survey session ------------------------------------------------------------------------

LIFECYCLE_STATES = ["invited", "active", "completed", "declined", "expired", "opted_out"]
TERMINAL = frozenset({"completed", "declined", "expired", "opted_out"})
LIFECYCLE_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "activate", "source": "invited", "dest": "active"},
    {"trigger": "decline", "source": "invited", "dest": "declined"},
    {"trigger": "complete", "source": "active", "dest": "completed"},
    {"trigger": "expire", "source": ["invited", "active"], "dest": "expired"},
    {"trigger": "opt_out", "source": ["invited", "active"], "dest": "opted_out"},
]

_LIFECYCLE = Machine(
    model=None, states=LIFECYCLE_STATES, transitions=LIFECYCLE_TRANSITIONS, initial="invited", auto_transitions=False
)
_LIFECYCLE_ROUTES = routes_of(_LIFECYCLE)


def lifecycle_move(current: str, trigger: str) -> str:
    """The session's lifecycle state after `trigger`, or MachineError if the move is illegal."""
    return fire(_LIFECYCLE_ROUTES, trigger, current)


# --- ticket -------------------------------------------------------------------------------
#
#   new → assigned → in_progress → resolved → confirmed
#   resolved → reopened (the respondent says it is not solved) → assigned …
#   resolved → unconfirmed (no answer after the reminder)
#   any open state → escalated (SLA breached: the parent organisation's queue) → assigned …

TICKET_STATES = [
    "new", "assigned", "in_progress", "resolved", "confirmed", "unconfirmed", "reopened", "escalated",
]  # fmt: skip
TICKET_OPEN = frozenset({"new", "assigned", "in_progress", "reopened", "escalated"})
TICKET_CLOSED = frozenset({"confirmed", "unconfirmed"})
_OPEN = sorted(TICKET_OPEN)
TICKET_TRANSITIONS: list[dict[str, Any]] = [
    # Assigning again (to a colleague) is a move too, from any open state.
    {"trigger": "assign", "source": _OPEN, "dest": "assigned"},
    {"trigger": "start", "source": "assigned", "dest": "in_progress"},
    {"trigger": "resolve", "source": ["assigned", "in_progress"], "dest": "resolved"},
    {"trigger": "confirm", "source": "resolved", "dest": "confirmed"},
    {"trigger": "leave_unconfirmed", "source": "resolved", "dest": "unconfirmed"},
    # The respondent says "还没有"; or staff reopen a closed one.
    {"trigger": "reopen", "source": ["resolved", "confirmed", "unconfirmed"], "dest": "reopened"},
    {"trigger": "escalate", "source": ["new", "assigned", "in_progress", "reopened"], "dest": "escalated"},
]

_TICKET = Machine(
    model=None, states=TICKET_STATES, transitions=TICKET_TRANSITIONS, initial="new", auto_transitions=False
)
_TICKET_ROUTES = routes_of(_TICKET)


def ticket_move(current: str, trigger: str) -> str:
    """The ticket's state after `trigger`, or MachineError if the move is illegal."""
    return fire(_TICKET_ROUTES, trigger, current)


def ticket_triggers(current: str) -> list[str]:
    """The moves a ticket in `current` allows (what the console offers)."""
    return sorted({trigger for trigger, source in _TICKET_ROUTES if source == current})


__all__ = [
    "LIFECYCLE_STATES", "TERMINAL", "TICKET_CLOSED", "TICKET_OPEN", "TICKET_STATES",
    "MachineError", "Route", "fire", "lifecycle_move", "routes_of", "ticket_move", "ticket_triggers",
]  # fmt: skip
