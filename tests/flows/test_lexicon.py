"""Satisfaction and yes/no answers worded freely: negation, intensity, dialect, decoration.

One table of phrasings against the scales the default flows ask with and two plain
four-point scales. A row's expected None means "not understood": the engine asks again
rather than record a guess.
"""

from __future__ import annotations

import pytest

from flows.answers import Parsed, parse_answer, parse_yes_no
from flows.loader import DEFAULTS_DIR, load_flow
from flows.schema import NO, YES, Question


def _option(code: str, zh: str, en: str, score: int) -> dict:
    return {"code": code, "label": {"zh": zh, "en": en}, "score": score}


def _rating(*options: dict) -> Question:
    prompt = {"zh": "问题", "en": "Question"}
    return Question(id="q", type="rating", prompt=prompt, options=list(options))


def _default(flow: str, question: str) -> Question:
    return load_flow(DEFAULTS_DIR / f"{flow}.yaml").question(question)


QUESTIONS = {
    "satisfied4": _rating(
        _option("very_satisfied", "非常满意", "Very satisfied", 4),
        _option("satisfied", "满意", "Satisfied", 3),
        _option("average", "一般", "Average", 2),
        _option("dissatisfied", "不满意", "Dissatisfied", 1),
    ),
    "good4": _rating(
        _option("very_good", "非常好", "Very good", 4),
        _option("good", "好", "Good", 3),
        _option("average", "一般", "Average", 2),
        _option("poor", "不好", "Poor", 1),
    ),
    # No negative option: a mildly negative answer is the lowest it can be, a plainly
    # negative one is not on this scale at all.
    "no_negative": _rating(
        _option("very_satisfied", "非常满意", "Very satisfied", 3),
        _option("satisfied", "满意", "Satisfied", 2),
        _option("average", "一般", "Average", 1),
    ),
    "donation": _default("donation", "satisfaction"),
    "training": _default("first_aid_training", "arrangement"),
    "post": _default("first_aid_post", "operation"),
    "grassroots": _default("grassroots", "work_effect"),
}

RATING_CASES = [
    # mild negation: "not very" is negative, on the scale's negative option
    ("satisfied4", "不太满意", "dissatisfied"),
    ("satisfied4", "不太满意。", "dissatisfied"),
    ("satisfied4", "不太满意！", "dissatisfied"),
    ("satisfied4", "不太满意~", "dissatisfied"),
    ("satisfied4", "不太满意😔", "dissatisfied"),
    ("satisfied4", "不 太 满 意", "dissatisfied"),
    ("satisfied4", "不是很满意", "dissatisfied"),
    ("satisfied4", "不怎么满意", "dissatisfied"),
    ("satisfied4", "不大满意啊", "dissatisfied"),
    ("satisfied4", "我觉得不太满意", "dissatisfied"),
    ("no_negative", "不太满意", "average"),
    ("no_negative", "不怎么满意呀", "average"),
    ("no_negative", "不满意", None),
    ("good4", "不怎么好", "poor"),
    ("good4", "不太好", "poor"),
    ("good4", "不是很好", "poor"),
    ("good4", "不是太好", "poor"),
    ("good4", "没那么好", "poor"),
    ("good4", "不够好", "poor"),
    # intensity
    ("satisfied4", "很满意", "very_satisfied"),
    ("satisfied4", "满意得很", "very_satisfied"),
    ("satisfied4", "特别满意！！", "very_satisfied"),
    ("satisfied4", "非常非常满意", "very_satisfied"),
    ("satisfied4", "十分满意", "very_satisfied"),
    ("satisfied4", "好满意呀", "very_satisfied"),
    ("satisfied4", "挺满意的", "satisfied"),
    ("satisfied4", "比较满意", "satisfied"),
    ("satisfied4", "还算满意吧", "satisfied"),
    ("satisfied4", "蛮满意的", "satisfied"),
    ("satisfied4", "满意满意", "satisfied"),
    ("satisfied4", "不错不错", "satisfied"),
    ("satisfied4", "很满意～", "very_satisfied"),
    ("satisfied4", "满意😊", "satisfied"),
    ("satisfied4", "我觉得挺满意的", "satisfied"),
    ("satisfied4", "总的来说还是比较满意的", "satisfied"),
    ("satisfied4", "还不错", "satisfied"),
    ("satisfied4", "不错哦", "satisfied"),
    ("good4", "很好", "very_good"),
    ("good4", "好得很", "very_good"),
    ("good4", "太好了！", "very_good"),
    ("good4", "真好", "very_good"),
    ("good4", "挺好的", "good"),
    ("good4", "好的呀", "good"),
    ("good4", "蛮好", "good"),
    ("good4", "挺不错的", "good"),
    ("good4", "好好好", "good"),
    # double negation
    ("satisfied4", "没有不满意", "satisfied"),
    ("satisfied4", "没有不满意的", "satisfied"),
    ("satisfied4", "没什么不满意的", "satisfied"),
    ("satisfied4", "并不是很满意", "dissatisfied"),
    ("good4", "不差", "good"),
    # the middle of the scale
    ("satisfied4", "还行", "average"),
    ("satisfied4", "还行吧~", "average"),
    ("satisfied4", "还可以", "average"),
    ("satisfied4", "马马虎虎", "average"),
    ("satisfied4", "一般般吧", "average"),
    ("satisfied4", "凑合", "average"),
    ("satisfied4", "过得去", "average"),
    ("satisfied4", "差不多吧", "average"),
    ("satisfied4", "不好不坏", "average"),
    ("good4", "还好", "average"),
    ("good4", "一般吧。", "average"),
    ("good4", "还可以啦", "average"),
    # plainly negative, strongly negative (the scale's lowest negative option)
    ("satisfied4", "太差了", "dissatisfied"),
    ("satisfied4", "很不满意", "dissatisfied"),
    ("satisfied4", "非常不满意", "dissatisfied"),
    ("good4", "太差了", "poor"),
    ("good4", "很差", "poor"),
    ("good4", "差劲", "poor"),
    ("good4", "不行", "poor"),
    ("good4", "太差了！！！", "poor"),
    # Sichuan and other colloquial words
    ("satisfied4", "巴适", "satisfied"),
    ("satisfied4", "巴适得很", "very_satisfied"),
    ("satisfied4", "安逸", "satisfied"),
    ("satisfied4", "安逸得很", "very_satisfied"),
    ("good4", "巴适得板", "very_good"),
    ("good4", "安逸惨了", "very_good"),
    ("satisfied4", "撇", "dissatisfied"),
    ("satisfied4", "太撇了", "dissatisfied"),
    ("good4", "孬", "poor"),
    ("good4", "撇得很", "poor"),
    ("good4", "要得", "good"),
    # the default flows' own scales
    ("donation", "不怎么满意", "dissatisfied"),
    ("donation", "满意得很", "very_satisfied"),
    ("donation", "安逸", "satisfied"),
    ("donation", "马马虎虎", "average"),
    ("donation", "太差了", "dissatisfied"),
    ("donation", "没有不满意", "satisfied"),
    ("training", "不怎么满意", "not_satisfied"),
    ("training", "不太满意", "not_satisfied"),
    ("training", "马马虎虎", "not_satisfied"),  # the flow lists 一般 under 不太满意
    ("training", "巴适得很", "very_satisfied"),
    ("training", "挺满意的", "satisfied"),
    ("post", "挺好的", "running_well"),
    ("post", "安逸", "running_well"),
    ("post", "太差了", "running_fair"),
    ("post", "马马虎虎", "running_fair"),
    ("post", "不怎么好", "running_fair"),
    ("grassroots", "不怎么好", "poor"),
    ("grassroots", "好得很", "very_good"),
    ("grassroots", "还可以吧", "average"),
    ("grassroots", "撇", "poor"),
    # not understood: asked back, both ways at once, negated middle, no opinion
    ("satisfied4", "满不满意", None),
    ("satisfied4", "满意吗", None),
    ("satisfied4", "满意是满意，就是等太久", None),
    ("satisfied4", "不一般", None),
    ("satisfied4", "不知道", None),
    ("good4", "好不好", None),
    ("good4", "以前不好，现在好了", None),
    ("good4", "说不好", None),
]


@pytest.mark.parametrize(("question", "raw", "code"), RATING_CASES)
def test_satisfaction_words(question: str, raw: str, code: str | None) -> None:
    parsed = parse_answer(QUESTIONS[question], raw)
    if code is None:
        assert not parsed.ok, parsed
    else:
        assert parsed == Parsed(ok=True, value=code)


def test_single_choice_scale_reads_the_same_words() -> None:
    single = QUESTIONS["satisfied4"].model_copy(update={"type": "single_choice"})
    assert parse_answer(single, "不太满意") == Parsed(ok=True, value="dissatisfied")


def test_a_list_without_a_scale_is_not_read_as_one() -> None:
    """"很好" says nothing about which problem is the main one."""
    question = _default("grassroots", "main_problem")
    assert not parse_answer(question, "很好").ok
    assert parse_answer(question, "都挺好") == Parsed(ok=True, value="none")  # its own synonym


YES_NO_CASES = [
    # yes
    ("收到了", True),
    ("收到", True),
    ("收到啦", True),
    ("收到了！", True),
    ("收到了！！", True),
    ("收到了~", True),
    ("收到了🙏", True),
    ("收到了，谢谢", True),
    ("收 到 了", True),
    ("已经收到了", True),
    ("已收到", True),
    ("早就收到了", True),
    ("有收到", True),
    ("拿到了", True),
    ("领到了", True),
    ("有", True),
    ("有的", True),
    ("有的有的", True),
    ("是的", True),
    ("是的呀", True),
    ("对", True),
    ("对的", True),
    ("嗯嗯", True),
    ("好的", True),
    ("要得", True),
    ("要得嘛", True),
    ("得行", True),
    ("嗯，收到了", True),
    # no
    ("还没有", False),
    ("没收到", False),
    ("没收到。", False),
    ("没收到😭", False),
    ("还没", False),
    ("还没收到呢", False),
    ("还没有收到", False),
    ("没有", False),
    ("没有收到", False),
    ("没有哦", False),
    ("未收到", False),
    ("不是", False),
    ("不是的", False),
    ("没得", False),
    ("莫得", False),
    ("没拿到", False),
    ("暂时还没有", False),
    ("并没有", False),
    ("不太想", False),
    ("不愿意", False),
    # not understood: not knowing is not an answer either way
    ("不知道", None),
    ("记不清了", None),
    ("不记得了", None),
    ("忘了", None),
    ("不清楚", None),
    ("说不准", None),
    ("不一定", None),
    ("不确定", None),
    ("可能吧", None),
    ("收到没", None),
]


@pytest.mark.parametrize(("raw", "expected"), YES_NO_CASES)
def test_yes_no_words(raw: str, expected: bool | None) -> None:
    assert parse_yes_no(raw) is expected
    parsed = parse_answer(Question(id="q", type="yes_no", prompt={"zh": "问题", "en": "Q"}), raw)
    if expected is None:
        assert not parsed.ok
    else:
        assert parsed == Parsed(ok=True, value=YES if expected else NO)
