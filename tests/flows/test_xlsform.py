"""XLSForm rows ↔ flows (flows.xlsform): a hand-written form in the XLSForm spec's style, its
`relevant` run through the engine, refusals naming sheet and row, and round trips."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from flows import engine
from flows.events import MessageSent, SessionCompleted
from flows.loader import default_flow_paths, followup_flow_paths, load_flow
from flows.schema import Flow
from flows.xlsform import MAX_ROWS, XlsError, from_rows, to_rows

T0 = datetime(2026, 6, 1, tzinfo=UTC)
ZH, EN = "label::中文 (zh)", "label::English (en)"

# 人道救助回访 as an admin writes it in Excel / Kobo: metadata rows, a note, a rating-like
# select_one, a follow-up asked only of the unhappy, a select_multiple, an integer with bounds,
# a "specify" text after an "other" option and a yes/no list.
SURVEY: list[list[Any]] = [
    ["type", "name", ZH, EN, "required", "relevant", "constraint", "constraint_message", "appearance"],
    ["start", "start", None, None, None, None, None, None, None],
    ["note", "welcome", "下面几个问题关于您收到的救助。", "The next questions are about the aid you received.", None, None, None, None, None],
    ["select_one good_bad", "overall", "您对救助总体评价怎么样？", "Overall, how was the aid?", "yes", None, None, None, "likert"],
    ["text", "why_unhappy", "哪里让您不满意？", "What was not good?", "no", "${overall} = 'average' or ${overall} = 'poor'", "string-length(.) <= 500", None, None],
    ["select_multiple services", "services", "您还需要哪些帮助？", "What other help do you need?", "yes", None, None, None, None],
    ["text", "services_other", "请说明其他帮助", "Please describe the other help", "yes", "selected(${services}, 'other')", None, None, None],
    ["integer", "household", "家里有几口人？", "How many people live in your home?", "yes", None, ". >= 1 and . <= 20", "1～20", None],
    ["select_one yes_no", "visit", "愿意接受上门回访吗？", "May we visit you at home?", "yes", "${household} >= 3 and not(${household} > 10)", None, None, None],
    ["end", "end", None, None, None, None, None, None, None],
]
CHOICES: list[list[Any]] = [
    ["list_name", "name", ZH, EN],
    ["good_bad", "very_good", "非常好", "Very good"],
    ["good_bad", "good", "好", "Good"],
    ["good_bad", "average", "一般", "Fair"],
    ["good_bad", "poor", "不好", "Poor"],
    [None, None, None, None],
    ["services", "counselling", "心理疏导", "Counselling"],
    ["services", "policy", "政策引导", "Policy guidance"],
    ["services", "other", "其他", "Other"],
    ["yes_no", "yes", "是", "Yes"],
    ["yes_no", "no", "否", "No"],
]
TEXTS = ["intro", "consent", "declined", "closing", "form_title", "category_name"]
SETTINGS: list[list[Any]] = [
    ["form_id", "version", "category", "category_order", *[f"{t}::{lang}" for t in TEXTS for lang in ("中文 (zh)", "English (en)")]],
    ["aid_followup", "2024060101", "humanitarian_aid", 2,
     "您好！这里是红十字会。", "Hello! This is the Red Cross.",
     "您愿意回答几个问题吗？", "Would you answer a few questions?",
     "好的，不打扰您了。", "That's fine.",
     "谢谢您！", "Thank you!",
     "人道救助回访", "Aid follow-up",
     "人道救助", "Humanitarian aid"],
]  # fmt: skip


def load(survey: list[list[Any]] = SURVEY, choices: list[list[Any]] = CHOICES, settings: list[list[Any]] = SETTINGS) -> Flow:
    definition, errors = from_rows(survey, choices, settings)
    assert errors == []
    assert definition is not None
    return Flow.model_validate(definition)


def refused(survey: list[list[Any]] = SURVEY, choices: list[list[Any]] = CHOICES, settings: list[list[Any]] = SETTINGS) -> list[XlsError]:
    definition, errors = from_rows(survey, choices, settings)
    assert definition is None
    assert errors
    return errors


def talk(flow: Flow, *messages: str) -> tuple[dict[str, Any], list[str], bool]:
    """Consent, then each message; the answers, the prompts sent and whether it completed."""
    step = engine.start(flow, None, T0)
    state = step.state
    prompts: list[str] = []
    done = False
    for text in ("是", *messages):
        step = engine.resume(flow, state, text, T0)
        state = step.state
        prompts += [e.text for e in step.events if isinstance(e, MessageSent)]
        done = done or any(isinstance(e, SessionCompleted) for e in step.events)
    return dict(state["answers"]), prompts, done


def test_the_form_becomes_a_flow() -> None:
    flow = load()
    assert flow.id == "aid_followup" and flow.version == 2024060101
    assert flow.category.code == "humanitarian_aid" and flow.category.name.zh == "人道救助"
    assert [(q.id, q.type) for q in flow.questions] == [
        ("welcome", "info"), ("overall", "single_choice"), ("why_unhappy", "text"), ("services", "multi_choice"),
        ("services_other", "text"), ("household", "number"), ("visit", "yes_no"),
    ]  # fmt: skip
    q = {q.id: q for q in flow.questions}
    assert q["why_unhappy"].optional and not q["overall"].optional
    assert q["why_unhappy"].max_length == 500
    assert (q["household"].min, q["household"].max, q["household"].integer) == (1, 20, True)
    assert q["overall"].options[2].label.en == "Fair"


def test_relevant_skips_the_follow_up_for_the_satisfied() -> None:
    answers, prompts, done = talk(load(), "1", "1", "2")
    assert answers["overall"] == "very_good" and "why_unhappy" not in answers
    assert "services_other" not in answers
    assert not any("哪里让您不满意" in p for p in prompts)
    assert answers["household"] == 2 and "visit" not in answers  # 2 < 3: not asked
    assert done


def test_relevant_asks_the_follow_up_of_the_unhappy() -> None:
    answers, _, done = talk(load(), "4", "等了太久", "1、3", "想找个人聊聊", "5", "是")
    assert answers["overall"] == "poor"
    assert answers["why_unhappy"] == "等了太久"
    assert sorted(answers["services"]) == ["counselling", "other"]
    assert answers["services_other"] == "想找个人聊聊"
    assert answers["household"] == 5 and answers["visit"] == "yes"
    assert done


def test_not_and_a_strict_bound_on_an_integer() -> None:
    answers, _, done = talk(load(), "1", "2", "11")
    assert answers["household"] == 11 and "visit" not in answers  # not(11 > 10) is false
    assert done
    answers, _, _ = talk(load(), "1", "2", "10", "否")
    assert answers["visit"] == "no"


def test_a_skipped_question_reads_as_empty_in_a_later_relevant() -> None:
    survey = copy.deepcopy(SURVEY)
    # asked when why_unhappy was skipped, or answered: both are reachable from overall.
    survey.insert(5, ["text", "thanks", "谢谢", "Thanks", "no", "${why_unhappy} = ''", None, None, None])
    flow = load(survey)
    overall = flow.question("overall")
    assert isinstance(overall.next, list)
    answers, _, _ = talk(flow, "1", "好的", "1", "3")
    assert answers["thanks"] == "好的"


def test_a_relevant_that_a_branch_cannot_say_is_refused() -> None:
    cases = {
        "${overall} = 'good' and selected(${services}, 'other')": "cannot combine different questions",
        "${overall} = 'great'": "has no option 'great'",
        "${nobody} = 'x'": "there is no question ${nobody}",
        "${visit} = 'yes'": "is this question or a later one",
        "string-length(${why_unhappy}) > 3": "unsupported “string-length”",
        "${welcome} = ''": "is a note",
        "${services} = 'other'": "use selected(",
    }
    for expression, message in cases.items():
        survey = copy.deepcopy(SURVEY)
        survey[6][5] = expression
        [error] = refused(survey)
        assert (error.sheet, error.row) == ("survey", 7), expression
        assert message in error.message, (expression, error.message)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["begin group", "g", "组", "Group", None, None, None, None, None], "groups and repeats are not supported"),
        (["begin_repeat", "r", "组", "Group", None, None, None, None, None], "groups and repeats are not supported"),
        (["calculate", "c", None, None, None, None, None, None, None], "calculations are not supported"),
        (["date", "when", "哪天", "When", None, None, None, None, None], "unsupported type 'date'"),
        (["rank good_bad", "r", "排序", "Rank", None, None, None, None, None], "ranking is not supported"),
        (["select_one good_bad or_other", "o", "评价", "Rate", None, None, None, None, None], "or_other is not supported"),
        (["select_one colours", "o", "颜色", "Colour", None, None, None, None, None], "has no list 'colours'"),
        (["integer", "n", "几", "How many", None, None, "regex(., '^[0-9]+$')", None, None], "constraint cannot be honoured"),
        (["decimal", "d", "多少", "How much", None, None, ". > 0", None, None], "must be inclusive"),
        (["text", "t", "说明", None, None, None, None, None, None], "missing label::English (en)"),
        (["text", "t", None, "Explain", None, None, None, None, None], "missing label::中文 (zh)"),
        (["text", "t", "说明", "Explain", "${overall} = 'poor'", None, None, None, None], "required: "),
    ],
)
def test_what_is_refused_names_the_row(row: list[Any], message: str) -> None:
    survey = [*copy.deepcopy(SURVEY[:4]), row, *copy.deepcopy(SURVEY[4:])]
    errors = refused(survey)
    assert [(e.sheet, e.row) for e in errors] == [("survey", 5)], errors
    assert message in errors[0].message


def test_columns_that_cannot_be_kept_are_refused() -> None:
    survey = [[*SURVEY[0], "hint::中文 (zh)"], *[[*r, None] for r in SURVEY[1:]]]
    survey[4][-1] = "随便写"
    [error] = refused(survey)
    assert (error.sheet, error.row) == ("survey", 5) and "hints are not supported" in error.message
    survey = [[*SURVEY[0], "label::Tibetan (bo)"], *[[*r, "x"] for r in SURVEY[1:]]]
    [error] = refused(survey)
    assert (error.sheet, error.row) == ("survey", 1) and "only Chinese (zh) and English (en)" in error.message
    survey = [["type", "name", "label", "required"], ["text", "t", "说明", "yes"]]
    [error] = refused(survey)
    assert (error.sheet, error.row) == ("survey", 1) and "needs a language" in error.message


def test_limits_and_garbled_text() -> None:
    big = [SURVEY[0], *[["text", f"q{i}", "问", "Q", None, None, None, None, None] for i in range(MAX_ROWS)]]
    [error] = refused(big)
    assert error.sheet == "survey" and "too many rows" in error.message and str(MAX_ROWS) in error.message
    choices = copy.deepcopy(CHOICES)
    choices[2][2] = "\ufffd\ufffd"
    [error] = refused(choices=choices)
    assert (error.sheet, error.row) == ("choices", 3) and "wrong encoding" in error.message


def test_schema_and_lint_errors_land_on_their_rows() -> None:
    choices = copy.deepcopy(CHOICES)
    choices[2][1] = "very_good"  # a duplicate option code
    [error] = refused(choices=choices)
    assert (error.sheet, error.row) == ("choices", 3) and "duplicate option code" in error.message
    settings = copy.deepcopy(SETTINGS)
    del settings[0][6:8], settings[1][6:8]  # no consent
    [error] = refused(settings=settings)
    assert error.sheet == "settings" and error.row == 2 and "consent" in error.message
    survey = copy.deepcopy(SURVEY)
    survey[2][1] = "Welcome"
    [error] = refused(survey)
    assert (error.sheet, error.row) == ("survey", 3) and "questions[0].id" in error.message


FLOWS = [load_flow(p) for p in [*default_flow_paths(), *followup_flow_paths()]]


@pytest.mark.parametrize("flow", FLOWS, ids=[f.id for f in FLOWS])
def test_round_trip_keeps_the_flow(flow: Flow) -> None:
    definition, errors = from_rows(*to_rows(flow))
    assert errors == []
    assert Flow.model_validate(definition) == flow
    assert Flow.model_validate(definition).content_hash == flow.content_hash


def test_the_defaults_are_nine_and_all_round_trip() -> None:
    assert len(default_flow_paths()) == 9


def test_the_imported_form_round_trips_too() -> None:
    flow = load()
    definition, errors = from_rows(*to_rows(flow))
    assert errors == [] and Flow.model_validate(definition) == flow


def test_words_with_a_bar_survive_export() -> None:
    flow = FLOWS[0]
    data = flow.model_dump(mode="json")
    data["category"]["aliases"] = ["a|b", "c"]
    changed = Flow.model_validate(data)
    definition, errors = from_rows(*to_rows(changed))
    assert errors == [] and Flow.model_validate(definition) == changed
