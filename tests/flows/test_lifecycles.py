"""Every legal move of the ticket lifecycle, and every other move refused."""

from __future__ import annotations

import itertools

import pytest
from transitions import MachineError

from flows.lifecycles import TICKET_CLOSED, TICKET_OPEN, TICKET_STATES, ticket_move, ticket_triggers

LEGAL = {
    ("new", "assign"): "assigned",
    ("assigned", "assign"): "assigned",  # handed to a colleague
    ("in_progress", "assign"): "assigned",
    ("reopened", "assign"): "assigned",
    ("escalated", "assign"): "assigned",
    ("assigned", "start"): "in_progress",
    ("assigned", "resolve"): "resolved",
    ("in_progress", "resolve"): "resolved",
    ("resolved", "confirm"): "confirmed",
    ("resolved", "leave_unconfirmed"): "unconfirmed",
    ("resolved", "reopen"): "reopened",
    ("confirmed", "reopen"): "reopened",
    ("unconfirmed", "reopen"): "reopened",
    ("new", "escalate"): "escalated",
    ("assigned", "escalate"): "escalated",
    ("in_progress", "escalate"): "escalated",
    ("reopened", "escalate"): "escalated",
}
TRIGGERS = sorted({trigger for _, trigger in LEGAL})


@pytest.mark.parametrize(("state", "trigger"), sorted(itertools.product(TICKET_STATES, TRIGGERS)))
def test_each_move_is_legal_exactly_when_listed(state: str, trigger: str) -> None:
    if (state, trigger) in LEGAL:
        assert ticket_move(state, trigger) == LEGAL[(state, trigger)]
    else:
        with pytest.raises(MachineError, match=f"Can't trigger event '{trigger}' from state '{state}'"):
            ticket_move(state, trigger)


def test_open_and_closed_states_and_what_each_offers() -> None:
    assert TICKET_OPEN | TICKET_CLOSED | {"resolved"} == set(TICKET_STATES)
    assert ticket_triggers("resolved") == ["confirm", "leave_unconfirmed", "reopen"]
    assert ticket_triggers("confirmed") == ["reopen"]
    assert "resolve" not in ticket_triggers("new")  # someone must take it first
