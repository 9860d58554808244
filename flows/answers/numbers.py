"""Numbers, NPS scores and amounts: "35", "３５", "三十五岁", "1.5万", "我给9分吧"."""

from __future__ import annotations

import math
import re

from flows.answers.numerals import CN_CHARS, CN_DIGITS, cn_integer
from flows.answers.result import EMPTY, NOT_A_NUMBER, OUT_OF_RANGE, Parsed
from flows.normalize import normalize
from flows.schema import Question

_MAX_NUMBER_TEXT = 80
# Numbers beyond this are typing accidents, not survey answers; refusing them also keeps
# floats exact and int() away from Python's huge-int guard.
_MAX_MAGNITUDE = 1e15

_ARABIC = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_ARABIC_ANYWHERE = re.compile(rf"(?<![0-9.,]){_ARABIC}(?![0-9.,])")
_MULTIPLIERS = {"万": 10_000, "千": 1000, "亿": 100_000_000}

# Words around a number that add nothing: "我今年", "大概", "岁", "左右", "吧".
_NUMBER_PREFIXES = (
    "我", "今年", "已经", "大约", "大概", "约", "差不多", "有", "是", "给", "打", "评", "就",
    "应该", "可能", "估计", "一共", "总共", "共", "才", "刚", "满", "about", "around", "i am",
    "i'm", "maybe",
)  # fmt: skip
_NUMBER_SUFFIXES = (
    "岁", "周岁", "分", "个", "次", "人", "位", "元", "块", "块钱", "钱", "年", "个月", "月", "天",
    "周", "小时", "分钟", "公斤", "斤", "米", "厘米", "左右", "上下", "吧", "啊", "呀", "了",
    "啦", "呢", "哦", "嘛", "的", "吗", "years old", "years", "year", "yrs", "old", "points",
    "point", "pts", "times", "time", "kg", "people", "persons",
)  # fmt: skip


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


# Possessive repetitions (*+): "个月" is also "个" + "月", and backtracking through every
# way of splitting a run of such words would be exponential.
_NUMBER_PHRASE = re.compile(
    rf"(?:(?:{_alternatives(_NUMBER_PREFIXES)})\s*)*+"
    rf"(?P<sign>[-+]|负)?\s*(?:(?P<arabic>{_ARABIC})\s*(?P<mult>[万千亿])?"
    rf"|(?P<cn>[{CN_CHARS}]+)(?:点(?P<cn_frac>[{''.join(CN_DIGITS)}]+))?)"
    rf"\s*(?:(?:{_alternatives(_NUMBER_SUFFIXES)})\s*)*+"
)


def number_in(text: str, unit: tuple[str, ...] = ()) -> int | float | None:
    """The one number a normalized answer states, exact (int) when it has no fraction."""
    if not text or len(text) > _MAX_NUMBER_TEXT:
        return None
    for word in unit:  # the question's own unit: "65 公斤", "3 次"
        if text.endswith(word) and len(text) > len(word):
            text = text[: -len(word)].rstrip()
            break
    match = _NUMBER_PHRASE.fullmatch(text)
    if match:
        value = _number_from_match(match)
    else:
        # A sentence with exactly one number written in digits ("我觉得8分吧，还行"):
        # digits are unambiguous, unlike Chinese numerals hidden in words ("一般").
        found = _ARABIC_ANYWHERE.findall(text)
        value = _arabic(found[0]) if len(found) == 1 else None
    if value is None or not math.isfinite(value) or abs(value) >= _MAX_MAGNITUDE:
        return None
    return value


def _arabic(digits: str) -> int | float:
    digits = digits.replace(",", "")
    return float(digits) if "." in digits else int(digits)


def _number_from_match(match: re.Match[str]) -> int | float | None:
    if match["arabic"]:
        if len(match["arabic"]) > 20:
            return None
        arabic = _arabic(match["arabic"])
        if match["mult"]:
            arabic = arabic * _MULTIPLIERS[match["mult"]]
            if isinstance(arabic, float) and arabic.is_integer():
                arabic = int(arabic)
        value: int | float | None = arabic
    else:
        if len(match["cn"]) > 20:
            return None
        value = cn_integer(match["cn"])
        if value is not None and match["cn_frac"]:
            frac = "".join(str(CN_DIGITS[ch]) for ch in match["cn_frac"][:15])
            value = float(f"{value}.{frac}")
    if value is not None and match["sign"] in ("-", "负"):
        value = -value
    return value


_NPS_WORDS = {"满分": 10, "零分": 0, "full marks": 10}


def parse_nps(text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return EMPTY
    value: int | float | None = _NPS_WORDS.get(normalized)
    if value is None:
        value = number_in(normalized)
    if value is None or value != int(value):
        return NOT_A_NUMBER
    if not 0 <= value <= 10:
        return OUT_OF_RANGE
    return Parsed(ok=True, value=int(value))


def parse_number(question: Question, text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return EMPTY
    units: tuple[str, ...] = ()
    if question.unit is not None:
        units = tuple(u for u in (normalize(question.unit.zh), normalize(question.unit.en)) if u)
    value = number_in(normalized, units)
    if value is None:
        return NOT_A_NUMBER
    if question.integer:
        if value != int(value):
            return NOT_A_NUMBER  # "1.5" where a whole number is asked
        value = int(value)
    else:
        value = float(value)
    if (question.min is not None and value < question.min) or (
        question.max is not None and value > question.max
    ):
        return OUT_OF_RANGE
    return Parsed(ok=True, value=value)
