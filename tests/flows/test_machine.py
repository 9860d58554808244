"""The state machines under the engine: the session lifecycle, compiled flows, diagrams."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest
from transitions import MachineError

from flows.loader import default_flow_paths, load_flow
from flows.machine import (
    CONSENT,
    DECLINED,
    END,
    LIFECYCLE_STATES,
    TERMINAL,
    compile_flow,
    condition_holds,
    lifecycle_move,
    mermaid,
)
from flows.schema import Condition, Flow

FIXTURES = Path(__file__).parent / "fixtures"
EVERY_TYPE = load_flow(FIXTURES / "every_type.yaml")
DEFAULTS = {p.stem: load_flow(p) for p in default_flow_paths()}

# Every legal move of a session, written out here independently of flows.machine.
LEGAL = {
    ("invited", "activate"): "active",
    ("invited", "decline"): "declined",
    ("invited", "expire"): "expired",
    ("invited", "opt_out"): "opted_out",
    ("active", "complete"): "completed",
    ("active", "expire"): "expired",
    ("active", "opt_out"): "opted_out",
}
TRIGGERS = ["activate", "decline", "complete", "expire", "opt_out"]


def test_the_lifecycle_states() -> None:
    assert set(LIFECYCLE_STATES) == {"invited", "active", "completed", "declined", "expired", "opted_out"}
    assert TERMINAL == {"completed", "declined", "expired", "opted_out"}


@pytest.mark.parametrize(("state", "trigger"), sorted(LEGAL))
def test_legal_lifecycle_moves(state: str, trigger: str) -> None:
    assert lifecycle_move(state, trigger) == LEGAL[(state, trigger)]


ILLEGAL = [pair for pair in product(LIFECYCLE_STATES, TRIGGERS) if pair not in LEGAL]


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_illegal_lifecycle_moves_are_refused(state: str, trigger: str) -> None:
    with pytest.raises(MachineError):
        lifecycle_move(state, trigger)


def test_a_completed_session_cannot_become_active_again() -> None:
    with pytest.raises(MachineError):
        lifecycle_move("completed", "activate")


def test_nothing_leaves_a_terminal_state() -> None:
    for state in TERMINAL:
        for trigger in TRIGGERS:
            with pytest.raises(MachineError):
                lifecycle_move(state, trigger)


# -- compiled flows ----------------------------------------------------------------------------------


def _changed(flow: Flow, **question_changes: object) -> Flow:
    data = flow.model_dump()
    data["questions"][0].update(question_changes)
    return Flow.model_validate(data)


def test_a_flow_is_compiled_once() -> None:
    flow = DEFAULTS["humanitarian_aid"]
    assert compile_flow(flow) is compile_flow(flow)


def test_an_equal_copy_shares_the_compiled_flow() -> None:
    flow = DEFAULTS["humanitarian_aid"]
    copy = Flow.model_validate(flow.model_dump())
    assert copy is not flow
    assert compile_flow(copy) is compile_flow(flow)


def test_a_changed_flow_is_compiled_again() -> None:
    flow = DEFAULTS["humanitarian_aid"]
    reworded = _changed(flow, prompt={"zh": "您觉得我们的救助怎么样？", "en": "How was our aid?"})
    assert reworded.id == flow.id and reworded.version == flow.version
    assert compile_flow(reworded) is not compile_flow(flow)
    assert compile_flow(reworded).flow is reworded


def test_a_changed_branch_changes_where_the_survey_goes() -> None:
    flow = DEFAULTS["humanitarian_aid"]
    strict = _changed(
        flow,
        next=[
            {"when": {"question": "overall", "none_of": ["very_good"]}, "goto": "improve"},
            {"goto": "main_problem"},
        ],
    )
    assert compile_flow(flow).advance("overall", {"overall": "good"}) == "main_problem"
    assert compile_flow(strict).advance("overall", {"overall": "good"}) == "improve"
    assert compile_flow(flow).advance("overall", {"overall": "good"}) == "main_problem"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("very_good", "main_problem"), ("good", "main_problem"), ("average", "improve"), ("poor", "improve")],
)
def test_advance_follows_the_first_matching_branch(answer: str, expected: str) -> None:
    compiled = compile_flow(DEFAULTS["humanitarian_aid"])
    assert compiled.advance("overall", {"overall": answer}) == expected
    assert compiled.advance("improve", {"overall": answer, "improve": "…"}) == "main_problem"
    assert compiled.advance("opinion", {}) == END


def test_branches_on_earlier_answers() -> None:
    compiled = compile_flow(EVERY_TYPE)
    happy = {"helped": "yes", "recommend": 9, "household": 3}
    assert compiled.advance("household", happy) == "note"
    assert compiled.advance("household", {**happy, "helped": "no"}) == "callback"
    assert compiled.advance("household", {**happy, "recommend": 6}) == "callback"
    assert compiled.advance("household", {**happy, "recommend": None}) == "note"  # an unparsed answer


def test_consent() -> None:
    compiled = compile_flow(EVERY_TYPE)
    assert compiled.consent(True) == "service" == compiled.first
    assert compiled.consent(False) == DECLINED


def test_advancing_from_the_end_is_refused() -> None:
    with pytest.raises(MachineError):
        compile_flow(EVERY_TYPE).advance(END, {})


# -- conditions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "answers", "holds"),
    [
        ({"any_of": ["a", "b"]}, {"q": "a"}, True),
        ({"any_of": ["a", "b"]}, {"q": "c"}, False),
        ({"any_of": ["a"]}, {"q": ["c", "a"]}, True),
        ({"any_of": ["a"]}, {}, False),
        ({"any_of": ["a"]}, {"q": None}, False),
        ({"none_of": ["a"]}, {"q": "b"}, True),
        ({"none_of": ["a"]}, {"q": ["b", "a"]}, False),
        ({"none_of": ["a"]}, {}, False),
        ({"max": 6}, {"q": 6}, True),
        ({"max": 6}, {"q": 7}, False),
        ({"min": 2, "max": 4}, {"q": 3.5}, True),
        ({"min": 2}, {"q": 1}, False),
        ({"min": 0}, {"q": "a"}, False),
        ({"max": 1}, {"q": True}, False),
        ({"answered": True}, {"q": "x"}, True),
        ({"answered": True}, {"q": None}, False),
        ({"answered": False}, {"q": None}, True),
        ({"answered": False}, {}, True),
        ({"answered": False}, {"q": 0}, False),
    ],
)
def test_condition_holds(condition: dict[str, object], answers: dict[str, object], holds: bool) -> None:
    assert condition_holds(Condition(question="q", **condition), answers) is holds  # type: ignore[arg-type]


# -- diagrams ------------------------------------------------------------------------------------------


def test_mermaid_diagram_shows_states_moves_and_conditions() -> None:
    text = mermaid(DEFAULTS["first_aid_training"])
    assert text.lstrip("-\n").startswith("救护培训回访 / First-aid training follow-up survey")
    assert "stateDiagram-v2" in text
    for state in [CONSENT, "arrangement", "content", "teaching_attitude", "learning_effect", "unhappy_part", "opinion", END, DECLINED]:
        assert f'state "{state}" as {state}' in text
    assert "consent --> arrangement: agree" in text
    assert "consent --> declined: refuse" in text
    assert "opinion --> end: advance" in text
    (branch,) = [line for line in text.splitlines() if "learning_effect --> unhappy_part" in line]
    for question in ["arrangement", "content", "teaching_attitude", "learning_effect"]:
        assert f"[{question} in not_satisfied]" in branch  # the guard is named after its test
    assert "learning_effect --> opinion: advance" in text


def test_mermaid_diagram_of_the_fixture() -> None:
    text = mermaid(EVERY_TYPE)
    assert "service --> why: advance [service in average|not_satisfied|poor]" in text
    assert "service --> needs: advance" in text
    assert "household --> callback: advance [helped in no] | advance [recommend <= 6]" in text
    assert "note --> opinion: advance" in text
