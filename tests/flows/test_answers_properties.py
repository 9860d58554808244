"""Whatever a respondent sends, the parsers answer calmly and never lose their words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.answers import Parsed, parse_answer, parse_yes_no
from flows.commands import Command, detect_command
from flows.normalize import normalize
from flows.schema import NO, YES, Question

PROBLEMS = {
    "unrecognised", "too_many", "too_few", "out_of_range", "not_a_number", "too_short",
    "too_long", "ambiguous", "empty",
}  # fmt: skip


def _option(code: str, zh: str, en: str, *synonyms: str, score: int | None = None) -> dict:
    return {"code": code, "label": {"zh": zh, "en": en}, "synonyms": list(synonyms), "score": score}


def _question(type_: str, options: list[dict] | None = None, **fields) -> Question:
    return Question(
        id="q", type=type_, prompt={"zh": "问题", "en": "Question"}, options=options or [], **fields
    )


def parse_number(text: str) -> float | None:
    """The number an unbounded number question reads in `text` (flows keeps no helper for it)."""
    parsed = parse_answer(_question("number", integer=False), text)
    return parsed.value if parsed.ok else None


SATISFACTION = [
    _option("very_good", "非常好", "Very good", "👍"),
    _option("good", "好", "Good", "不错"),
    _option("ok", "一般", "Okay", "还行"),
    _option("bad", "不好", "Bad"),
    _option("very_bad", "非常不好", "Very bad"),
]
QUESTIONS = [
    _question("single_choice", SATISFACTION),
    _question("rating", [{**o, "score": 5 - i} for i, o in enumerate(SATISFACTION)]),
    _question("multi_choice", SATISFACTION, min_choices=1, max_choices=3),
    _question("multi_choice", [_option(f"o{n}", f"选项{n}", f"Choice {n}") for n in range(1, 13)]),
    _question("yes_no"),
    _question("nps"),
    _question("number", min=0, max=120),
    _question("number", integer=False),
    _question("text", min_length=2, max_length=20),
    _question("text"),
    _question("info"),
]

# Text that reaches the parsers' inner paths far more often than random Unicode does.
PIECES = (
    list("0123456789１２３一二两三十百千万零点第个项岁分选和、,，;； .。!？?()（）")
    + list("abcABCａ非常好不满意一般是否嗯的吧呀都全部①②⑬👍🏻\ufe0f\u3000\n")
    + ["and", "all", "Very good", "你好", "不错", "/stop", "退订", "跳过"]
)
ANSWERISH = st.lists(st.sampled_from(PIECES), max_size=20).map("".join)
ANY_TEXT = st.one_of(st.text(), ANSWERISH)


def _check_value(question: Question, parsed: Parsed) -> None:
    codes = [o.code for o in question.options]
    kind = question.type
    if kind in ("single_choice", "rating"):
        assert parsed.value in codes
    elif kind == "multi_choice":
        assert parsed.value
        assert parsed.value == [c for c in codes if c in parsed.value]  # option order, no repeats
        assert len(parsed.value) <= (question.max_choices or len(codes))
        assert len(parsed.value) >= (question.min_choices or 1)
    elif kind == "yes_no":
        assert parsed.value in (YES, NO)
    elif kind == "nps":
        assert type(parsed.value) is int and 0 <= parsed.value <= 10
    elif kind == "number":
        assert type(parsed.value) is (int if question.integer else float)
        assert question.min is None or parsed.value >= question.min
        assert question.max is None or parsed.value <= question.max
    elif kind == "text":
        assert parsed.value.strip() == parsed.value and parsed.value
    else:
        assert parsed.value is None


@settings(max_examples=400)
@given(question=st.sampled_from(QUESTIONS), text=ANY_TEXT)
def test_parse_answer_always_returns_a_verdict(question: Question, text: str) -> None:
    parsed = parse_answer(question, text)
    assert isinstance(parsed, Parsed)
    assert isinstance(parsed.ok, bool)
    if parsed.ok:
        assert parsed.problem is None
        _check_value(question, parsed)
    else:
        assert parsed.problem in PROBLEMS
        assert parsed.value is None


@settings(max_examples=300)
@given(text=ANY_TEXT)
def test_helpers_never_raise(text: str) -> None:
    normalized = normalize(text)
    assert isinstance(normalized, str)
    assert normalize(normalized) == normalized  # stable: stored forms compare equal later
    assert parse_yes_no(text) in (True, False, None)
    number = parse_number(text)
    assert number is None or isinstance(number, float)
    command = detect_command(text)
    assert command is None or isinstance(command, Command)


@settings(max_examples=300)
@given(text=st.text().filter(lambda t: t.strip()))
def test_free_text_is_kept_as_typed(text: str) -> None:
    parsed = parse_answer(_question("text"), text)
    assert parsed == Parsed(ok=True, value=text.strip())


@given(text=st.text())
def test_info_accepts_any_text(text: str) -> None:
    assert parse_answer(_question("info"), text) == Parsed(ok=True, value=None)


def test_very_long_input_is_refused_quickly() -> None:
    """A pasted page must not stall the engine (regex backtracking, label scans)."""
    for question in QUESTIONS:
        for text in ("好" * 100_000, "1," * 50_000, "!" * 100_000 + "a", "个月" * 40 + "x"):
            parse_answer(question, text)
