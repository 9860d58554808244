"""Flow files with mistakes: every error names the file, the line of the offending key and its path.

Each case edits one line of a small valid flow (BASE) and expects exactly the error a flow
author would read in `huifang flows validate`. Expected line numbers are found by searching the
edited text, so a test fails if the loader points anywhere but at the key itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.loader import FlowError, FlowFileError, default_flow_paths, load_flow, load_path, load_text
from flows.messages import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
HUIFANG = Path(sys.executable).parent / "huifang"

BASE = """\
id: mini
version: 1
category:
  code: mini
  name: {zh: 测试, en: Test}
title: {zh: 测试问卷, en: Test survey}
intro: {zh: 您好, en: Hello}
consent: {zh: 您愿意吗, en: Will you take part}
declined: {zh: 谢谢, en: Thank you}
closing: {zh: 完成了, en: All done}
questions:
  - id: visit
    type: single_choice
    prompt: {zh: 您去过哪里, en: Where did you go}
    options:
      - code: clinic
        label: {zh: 诊所, en: Clinic}
      - code: school
        label: {zh: 学校, en: School}
    next:
      - when: {question: visit, any_of: [clinic]}
        goto: clinic_rating
      - goto: opinion
  - id: clinic_rating
    type: rating
    prompt: {zh: 诊所怎么样, en: How was the clinic}
    options:
      - code: good
        label: {zh: 好, en: Good}
        score: 2
      - code: bad
        label: {zh: 不好, en: Bad}
        score: 1
  - id: opinion
    type: text
    optional: true
    prompt: {zh: 还有什么建议, en: Any suggestions}
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} time(s)"
    return hits[occurrence - 1]


def errors_of(text: str, name: str = "broken.yaml") -> list[str]:
    flow, _, errors = load_text(name, text)
    assert all(isinstance(e, FlowError) for e in errors)
    assert (flow is None) == bool(errors), "a flow is returned exactly when there is no error"
    return [str(e) for e in errors]


def test_the_base_flow_is_valid() -> None:
    flow, _, errors = load_text("mini.yaml", BASE)
    assert errors == []
    assert flow is not None and [q.id for q in flow.questions] == ["visit", "clinic_rating", "opinion"]


# -- references between questions -------------------------------------------------------------


def test_unknown_goto() -> None:
    text = edit("        goto: clinic_rating\n", "        goto: q9\n")
    line = line_of(text, "goto: q9")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[0].next[0].goto: unknown question 'q9'"]


def test_unknown_goto_in_a_plain_next() -> None:
    text = BASE + "    next: q9\n"
    line = line_of(text, "next: q9")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[2].next: unknown question 'q9'"]


def test_goto_end_closes_the_survey() -> None:
    assert errors_of(edit("      - goto: opinion\n", "      - goto: end\n")) == []


def test_unknown_when_question() -> None:
    text = edit("{question: visit, any_of", "{question: vist, any_of")
    line = line_of(text, "question: vist")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[0].when.question: unknown question 'vist'"
    ]


def test_when_any_of_names_an_option_that_does_not_exist() -> None:
    text = edit("any_of: [clinic]", "any_of: [clinic, hospital]")
    line = line_of(text, "any_of: [clinic, hospital]")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[0].when.any_of[1]: 'visit' has no option 'hospital'"
    ]


def test_when_none_of_names_an_option_that_does_not_exist() -> None:
    text = edit("any_of: [clinic]", "none_of: [park]")
    line = line_of(text, "none_of: [park]")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[0].when.none_of[0]: 'visit' has no option 'park'"
    ]


def test_condition_on_a_question_asked_later() -> None:
    text = edit("{question: visit, any_of: [clinic]}", "{question: opinion, answered: true}")
    line = line_of(text, "question: opinion")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[0].when.question: "
        "'opinion' is asked later, so it has no answer yet"
    ]


def test_a_condition_needs_a_test() -> None:
    text = edit("{question: visit, any_of: [clinic]}", "{question: visit}")
    line = line_of(text, "{question: visit}")
    # One mistake, one error: `next` is a list of branches, so "should be a valid string"
    # (the other member of the `next` union) says nothing useful.
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[0].when: "
        "a condition needs one of any_of, none_of, min, max, answered"
    ]


def test_a_branch_after_an_unconditional_branch_is_never_taken() -> None:
    text = edit(
        "      - when: {question: visit, any_of: [clinic]}\n        goto: clinic_rating\n      - goto: opinion\n",
        "      - goto: opinion\n      - when: {question: visit, any_of: [clinic]}\n        goto: clinic_rating\n",
    )
    line = line_of(text, "- when: {question: visit")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].next[1]: never taken: an earlier branch without `when` always matches"
    ]


def test_yes_and_no_codes_need_no_quotes() -> None:
    """A yes_no question's answers are stored as the codes yes / no (flows.schema.YES, NO).

    YAML 1.1 (PyYAML) reads a bare yes / no as a boolean; a flow author writing
    `any_of: [no]` or `on_options: [no]` exactly as the codes are documented must not get
    "Input should be a valid string".
    """
    text = edit(
        "      - code: clinic\n        label: {zh: 诊所, en: Clinic}\n      - code: school\n        label: {zh: 学校, en: School}\n",
        "",
    )
    text = edit("    type: single_choice\n", "    type: yes_no\n    escalate: {on_options: [no]}\n", text)
    text = edit("    options:\n    next:\n", "    next:\n", text)
    text = edit("any_of: [clinic]", "any_of: [yes]", text)
    assert errors_of(text) == []


def test_english_labels_yes_and_no_are_text() -> None:
    """"No" is an ordinary English option label, not a boolean."""
    text = edit("{zh: 诊所, en: Clinic}", "{zh: 是, en: Yes}")
    text = edit("{zh: 学校, en: School}", "{zh: 否, en: No}", text)
    flow, _, errors = load_text("yes_no_labels.yaml", text)
    assert [str(e) for e in errors] == []
    assert flow is not None
    assert [o.label.en for o in flow.question("visit").options] == ["Yes", "No"]


# -- questions and options ------------------------------------------------------------------------


def test_duplicate_question_id() -> None:
    text = BASE + "  - id: visit\n    type: text\n    prompt: {zh: 再问一次, en: Once more}\n"
    line = line_of(text, "- id: visit", occurrence=2)
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[3].id: duplicate question id 'visit' (first at questions[0])"
    ]


def test_duplicate_option_code() -> None:
    text = edit("      - code: school\n", "      - code: clinic\n")
    line = line_of(text, "- code: clinic", occurrence=2)
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].options[1].code: duplicate option code 'clinic'"
    ]


def test_unreachable_question() -> None:
    text = edit("        goto: clinic_rating\n", "        goto: opinion\n")
    line = line_of(text, "- id: clinic_rating")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[1].id: question 'clinic_rating' can never be reached"
    ]


def test_cycle() -> None:
    text = BASE + "    next: visit\n"
    line = line_of(text, "next: visit")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[2].next: "
        "cycle: visit → clinic_rating → opinion → visit (a survey must always move on)"
    ]


def test_option_without_label() -> None:
    text = edit("      - code: school\n        label: {zh: 学校, en: School}\n", "      - code: school\n")
    line = line_of(text, "- code: school")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[0].options[1].label: required but missing"]


@pytest.mark.parametrize(("written", "missing"), [("{zh: 学校}", "en"), ("{en: School}", "zh")])
def test_missing_translation(written: str, missing: str) -> None:
    text = edit("label: {zh: 学校, en: School}", f"label: {written}")
    line = line_of(text, f"label: {written}")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[0].options[1].label.{missing}: missing translation ({missing})"
    ]


def test_missing_translation_of_a_prompt() -> None:
    text = edit(
        "    prompt: {zh: 还有什么建议, en: Any suggestions}\n", "    prompt:\n      zh: 还有什么建议\n"
    )
    line = line_of(text, "zh: 还有什么建议")
    assert errors_of(text) == [
        f"broken.yaml:{line - 1}: questions[2].prompt.en: missing translation (en)"
    ]


def test_unknown_field() -> None:
    text = edit("    optional: true\n", "    optoinal: true\n")
    line = line_of(text, "optoinal")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[2].optoinal: unknown field"]


def test_unknown_top_level_field() -> None:
    text = edit("version: 1\n", "version: 1\nauthor: me\n")
    assert errors_of(text) == [f"broken.yaml:{line_of(text, 'author')}: author: unknown field"]


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            "    optional: true\n",
            "    optional: sometimes\n",
            "questions[2].optional",
            "Input should be a valid boolean, unable to interpret input",
        ),
        (
            "version: 1\n",
            "version: one\n",
            "version",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "    type: text\n",
            "    type: essay\n",
            "questions[2].type",
            "Input should be 'single_choice', 'multi_choice', 'rating', 'nps', 'yes_no', "
            "'number', 'text' or 'info'",
        ),
        (
            "label: {zh: 学校, en: School}",
            "label: 学校",
            "questions[0].options[1].label",
            "Input should be a valid dictionary or instance of I18nText",
        ),
    ],
    ids=["bool", "int", "literal", "mapping"],
)
def test_wrong_type(old: str, new: str, path: str, message: str) -> None:
    text = edit(old, new)
    assert errors_of(text) == [f"broken.yaml:{line_of(text, new.strip())}: {path}: {message}"]


def test_choice_question_with_one_option() -> None:
    text = edit("      - code: bad\n        label: {zh: 不好, en: Bad}\n        score: 1\n", "")
    line = line_of(text, "- id: clinic_rating")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[1]: a rating question needs at least 2 options"]


def test_unknown_escalation_option() -> None:
    text = edit("    type: rating\n", "    type: rating\n    escalate: {on_options: [awful]}\n")
    line = line_of(text, "on_options: [awful]")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[1].escalate.on_options[0]: unknown option 'awful'"]


def test_every_error_is_reported_in_one_run() -> None:
    text = edit("        goto: clinic_rating\n", "        goto: q9\n")
    text = edit("      - code: school\n", "      - code: clinic\n", text)
    assert sorted(errors_of(text)) == sorted(
        [
            f"broken.yaml:{line_of(text, '- code: clinic', 2)}: questions[0].options[1].code: duplicate option code 'clinic'",
            f"broken.yaml:{line_of(text, 'goto: q9')}: questions[0].next[0].goto: unknown question 'q9'",
        ]
    )


# -- messages ------------------------------------------------------------------------------------------


def test_unknown_messages_key() -> None:
    text = edit("questions:\n", "messages:\n  hello: {zh: 你好, en: Hi}\nquestions:\n")
    line = line_of(text, "hello:")
    (error,) = errors_of(text)
    assert error.startswith(f"broken.yaml:{line}: messages.hello: unknown message 'hello' (known: ")
    assert "help" in error and "moving_on" in error


def test_known_messages_key_overrides() -> None:
    text = edit("questions:\n", "messages:\n  moving_on: {zh: 好的，下一题。, en: OK, next one.}\nquestions:\n")
    # A flow mapping splits on ", ": the English text must be quoted.
    text = text.replace("en: OK, next one.}", "en: 'OK, next one.'}")
    flow, _, errors = load_text("ok.yaml", text)
    assert errors == [] and flow is not None
    assert flow.messages["moving_on"].zh == "好的，下一题。"
    assert "moving_on" in DEFAULTS


# -- the file itself ---------------------------------------------------------------------------------


def test_duplicate_yaml_key() -> None:
    text = edit("    type: text\n", "    type: text\n    type: number\n")
    line = line_of(text, "type: number")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[2].type: duplicate key"]


def test_duplicate_key_inside_a_flow_mapping() -> None:
    text = edit("{zh: 学校, en: School}", "{zh: 学校, zh: 中学, en: School}")
    line = line_of(text, "zh: 中学")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[0].options[1].label.zh: duplicate key"]


def test_yaml_syntax_error_names_its_line() -> None:
    text = edit("    type: text\n", "    type: text: oops\n")
    line = line_of(text, "text: oops")
    assert errors_of(text) == [f"broken.yaml:{line}: not valid YAML/JSON: mapping values are not allowed here"]


def test_tab_indentation_names_its_line() -> None:
    text = edit("    optional: true\n", "\toptional: true\n")
    (error,) = errors_of(text)
    assert error.startswith(f"broken.yaml:{line_of(text, 'optional: true')}: not valid YAML/JSON: ")


def test_anchor_and_alias_refused() -> None:
    text = edit(
        "    prompt: {zh: 您去过哪里, en: Where did you go}\n",
        "    prompt: &ask {zh: 您去过哪里, en: Where did you go}\n",
    )
    text = edit("    prompt: {zh: 诊所怎么样, en: How was the clinic}\n", "    prompt: *ask\n", text)
    line = line_of(text, "&ask")
    assert errors_of(text) == [f"broken.yaml:{line}: anchors and aliases (&, *) are not allowed"]


def test_billion_laughs_is_refused_quickly() -> None:
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    (error,) = errors_of(lol)
    assert error.endswith("anchors and aliases (&, *) are not allowed")


def test_scalar_alias_refused_too() -> None:
    """The error says anchors and aliases are not allowed; a scalar alias is one too."""
    text = edit("{zh: 诊所, en: Clinic}", "{zh: &place 诊所, en: Clinic}")
    text = edit("{zh: 学校, en: School}", "{zh: *place, en: School}", text)
    line = line_of(text, "&place")
    assert errors_of(text) == [f"broken.yaml:{line}: anchors and aliases (&, *) are not allowed"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert errors_of(text) == ["broken.yaml:1: the file is empty"]


def test_a_list_is_not_a_flow() -> None:
    assert errors_of("- id: visit\n") == ["broken.yaml:1: a flow file must be a mapping (id, version, …)"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    flow, _, errors = load_path(path)
    assert flow is None
    (error,) = errors
    assert str(error).startswith(f"{path}: cannot read: ")


def test_file_not_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(BASE.encode("gbk"))
    flow, _, errors = load_path(path)
    assert flow is None
    (error,) = errors
    assert str(error).startswith(f"{path}: cannot read: ")


def test_errors_from_a_file_carry_its_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    text = edit("        goto: clinic_rating\n", "        goto: q9\n")
    path.write_text(text, encoding="utf-8")
    flow, _, errors = load_path(path)
    assert flow is None
    assert [str(e) for e in errors] == [
        f"{path}:{line_of(text, 'goto: q9')}: questions[0].next[0].goto: unknown question 'q9'"
    ]
    with pytest.raises(FlowFileError) as raised:
        load_flow(path)
    assert str(raised.value) == str(errors[0])
    assert raised.value.errors == errors


# -- JSON flow files -----------------------------------------------------------------------------


def _as_json(text: str) -> str:
    return json.dumps(yaml.safe_load(text), ensure_ascii=False, indent=2) + "\n"


def test_json_flow_file_accepted(tmp_path: Path) -> None:
    path = tmp_path / "mini.json"
    path.write_text(_as_json(BASE), encoding="utf-8")
    flow, _, errors = load_path(path)
    assert errors == []
    assert flow is not None
    yaml_flow, _, _ = load_text("mini.yaml", BASE)
    assert yaml_flow is not None
    assert flow.content_hash == yaml_flow.content_hash


def test_json_syntax_error_names_its_line() -> None:
    text = _as_json(BASE)
    text = edit('  "version": 1,\n', '  "version": 1\n', text)  # a missing comma
    (error,) = errors_of(text, "broken.json")
    line = line_of(text, '"category"')
    assert error.startswith(f"broken.json:{line}: not valid YAML/JSON: ")


def test_json_flow_error_names_its_line() -> None:
    text = edit('"goto": "clinic_rating"', '"goto": "q9"', _as_json(BASE))
    line = line_of(text, '"goto": "q9"')
    assert errors_of(text, "broken.json") == [
        f"broken.json:{line}: questions[0].next[0].goto: unknown question 'q9'"
    ]


# -- the shipped flows -----------------------------------------------------------------------------


def test_all_nine_default_flows_load_without_errors() -> None:
    paths = default_flow_paths()
    assert len(paths) == 9
    for path in paths:
        flow, _, errors = load_path(path)
        assert [str(e) for e in errors] == []
        assert flow is not None and flow.id == path.stem


def test_the_test_fixtures_load_without_errors() -> None:
    for path in sorted(FIXTURES.glob("*.yaml")):
        _, _, errors = load_path(path)
        assert [str(e) for e in errors] == [], path


# -- `huifang flows validate` -----------------------------------------------------------------------


def _validate(*paths: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUIFANG), "flows", "validate", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_validates_the_default_flows() -> None:
    paths = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "flows" / "defaults").glob("*.yaml"))
    result = _validate(*paths)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 9
    assert all(line.startswith("ok  flows/defaults/") for line in lines)
    assert any("humanitarian_aid (人道救助)" in line for line in lines)


def test_cli_names_file_and_line_of_a_broken_flow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = edit("        goto: clinic_rating\n", "        goto: q9\n")
    broken.write_text(text, encoding="utf-8")
    good = ROOT / "flows" / "defaults" / "volunteer.yaml"
    result = _validate(good, broken)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{broken}:{line_of(text, 'goto: q9')}: questions[0].next[0].goto: 没有问题“q9” unknown question 'q9'"
    ]
    assert result.stdout.startswith(f"ok  {good}: volunteer")


# -- report groups ----------------------------------------------------------------------------------


REPORT_GROUPS = (
    "    report_label: {zh: 对诊所的评价, en: rating of the clinic}\n"
    "    report_groups:\n"
    "      - label: {zh: 好, en: Good}\n"
    "        codes: [good]\n"
    "      - label: {zh: 不好, en: Bad}\n"
    "        codes: [bad]\n"
)


def test_report_groups_gather_option_codes() -> None:
    text = edit("  - id: opinion\n", REPORT_GROUPS + "  - id: opinion\n")
    flow, _, errors = load_text("groups.yaml", text)
    assert [str(e) for e in errors] == []
    assert flow is not None
    rating = flow.question("clinic_rating")
    assert [(g.label.zh, g.codes) for g in rating.report_groups] == [("好", ["good"]), ("不好", ["bad"])]
    assert rating.report_label is not None and rating.report_label.en == "rating of the clinic"


def test_a_report_group_with_an_unknown_code_names_its_line() -> None:
    text = edit("  - id: opinion\n", REPORT_GROUPS.replace("codes: [bad]", "codes: [bad, awful]") + "  - id: opinion\n")
    line = line_of(text, "codes: [bad, awful]")
    assert errors_of(text) == [f"broken.yaml:{line}: questions[1].report_groups[1].codes[1]: unknown option 'awful'"]


def test_report_groups_on_a_text_question_are_refused() -> None:
    text = BASE + "    report_groups:\n      - label: {zh: 长, en: Long}\n        codes: [long]\n"
    line = line_of(text, "report_groups:")
    assert errors_of(text) == [
        f"broken.yaml:{line}: questions[2].report_groups: report groups are for rating, single_choice, "
        "yes_no questions, not text"
    ]
