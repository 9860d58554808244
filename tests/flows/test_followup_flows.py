"""Followup flows (kind: followup): no consent step, `{placeholders}` filled from the
session's vars, and a linter that keeps placeholders out of surveys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows import engine, render
from flows.events import SessionCompleted
from flows.loader import FOLLOWUPS_DIR, followup_flow_paths, load_flow, load_text

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
FLOW = load_flow(FOLLOWUPS_DIR / "ticket_confirmation.yaml")
VARS = {"problem": "救助款没收到 {name}", "resolution": "已补发"}

SURVEY = """\
id: mini
version: 1
category: {code: mini, name: {zh: 小, en: Mini}}
title: {zh: 小问卷, en: Mini survey}
intro: {zh: 您好, en: Hello}
consent: {zh: 愿意吗, en: Willing}
declined: {zh: 好的, en: OK}
closing: {zh: 谢谢, en: Thanks}
questions:
  - id: q1
    type: yes_no
    prompt: {zh: "您叫 {name} 吗", en: "Are you {name}"}
"""


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("您好 {who}！", {"who": "张三"}, "您好 张三！"),
        ("{{who}} 与 {who}", {"who": "李四"}, "{who} 与 李四"),
        ("{missing} 照写", {}, "{missing} 照写"),
        ("{a}", {"a": "{b}", "b": "不会被再次替换"}, "{b}"),
        ("{Not_a_name} {1}", {"1": "x"}, "{Not_a_name} {1}"),
    ],
)
def test_fill(text: str, values: dict[str, str], expected: str) -> None:
    assert render.fill(text, values) == expected


def test_placeholders_ignore_escaped_braces() -> None:
    assert render.placeholders("{{a}} {b} {{ {c}") == ["b", "c"]


def test_bundled_followups_load() -> None:
    assert [p.stem for p in followup_flow_paths()] == ["ticket_confirmation"]
    assert FLOW.kind == "followup" and FLOW.consent is None and FLOW.declined is None


def test_a_followup_starts_at_its_first_question_with_the_values_filled() -> None:
    step = engine.start(FLOW, {"vars": VARS, "about": "ticket:7:0"}, T0)
    assert step.state["lifecycle"] == "active" and step.state["step"] == "solved"
    assert step.state["about"] == "ticket:7:0" and step.state["vars"] == VARS
    [message] = step.messages
    assert message.text.startswith("您好！这里是红十字会。\n您反映的问题：“救助款没收到 {name}”，工作人员已处理：已补发。")
    assert [c.label for c in message.choices] == ["解决了", "还没有"]
    again = engine.prompt(FLOW, step.state)  # the reminder: the same question, same words
    assert "“救助款没收到 {name}”" in again.messages[0].text


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["还没有"], {"solved": "not_solved"}),
        (["2"], {"solved": "not_solved"}),
        (["还是不行"], {"solved": "not_solved"}),  # in their own words: reopened, not "sorry?"
        (["好的", "👍", "跳过"], {"solved": "solved", "satisfaction": "satisfied", "comment": None}),
        (["解决了", "满意", "跳过"], {"solved": "solved", "satisfaction": "satisfied", "comment": None}),
        (["1", "不满意", "态度一般"], {"solved": "solved", "satisfaction": "dissatisfied", "comment": "态度一般"}),
        (["好了", "非常满意", "谢谢"], {"solved": "solved", "satisfaction": "very_satisfied", "comment": "谢谢"}),
    ],
)
def test_answers_and_branches(answers: list[str], expected: dict[str, object]) -> None:
    step = engine.start(FLOW, {"vars": VARS}, T0)
    at = T0
    for text in answers:
        at += timedelta(minutes=1)
        step = engine.resume(FLOW, step.state, text, at)
    assert step.state["lifecycle"] == "completed" and step.state["answers"] == expected
    assert any(isinstance(e, SessionCompleted) for e in step.events)


def test_a_late_answer_to_a_followup_is_taken_without_asking_to_carry_on() -> None:
    """Asked by staff's action and answered days later (the timeout is at 96 hours): "还没有"
    reopens the ticket at once, not after "上次的问卷还没有答完，接着继续吗？"."""
    step = engine.start(FLOW, {"vars": VARS}, T0)
    step = engine.resume(FLOW, step.state, "还没有", T0 + timedelta(hours=80))
    assert step.state["lifecycle"] == "completed" and step.state["answers"] == {"solved": "not_solved"}


def test_a_followup_silent_past_expiry_is_over_not_restarted() -> None:
    step = engine.start(FLOW, {"vars": VARS}, T0)
    step = engine.resume(FLOW, step.state, "1", T0 + timedelta(days=40))
    assert step.state["lifecycle"] == "expired"
    assert [m.text for m in step.messages] == ["本次回访已经结束，谢谢您！如有其他问题，请直接留言。"]


def test_a_survey_shows_braces_as_written_and_the_linter_refuses_placeholders() -> None:
    flow, _, errors = load_text("mini.yaml", SURVEY)
    assert flow is None
    assert [str(e) for e in errors] == [
        "mini.yaml:12: questions[0].prompt.zh: placeholder {name} is filled only in a followup flow",
        "mini.yaml:12: questions[0].prompt.en: placeholder {name} is filled only in a followup flow",
    ]
    escaped, _, errors = load_text("mini.yaml", SURVEY.replace("{name}", "{{name}}"))
    assert errors == [] and escaped is not None


def test_a_survey_needs_consent_a_followup_may_leave_it_out() -> None:
    no_consent = SURVEY.replace("{name}", "小明").replace("consent: {zh: 愿意吗, en: Willing}\n", "")
    _, _, errors = load_text("mini.yaml", no_consent)
    assert [e.message for e in errors] == ["a survey needs consent (only a followup flow may leave them out)"]
    flow, _, errors = load_text("mini.yaml", "kind: followup\n" + no_consent)
    assert [e.message for e in errors] == ["consent and declined go together: give both or neither"]
    flow, _, errors = load_text(
        "mini.yaml", "kind: followup\n" + no_consent.replace("declined: {zh: 好的, en: OK}\n", "")
    )
    assert errors == [] and flow is not None and flow.kind == "followup"
    _, _, errors = load_text("mini.yaml", "kind: reminder\n" + SURVEY.replace("{name}", "小明"))
    assert [e.path for e in errors] == ["kind"]
