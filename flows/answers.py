"""Understanding what a respondent typed, per question type.

Respondents are often older people typing Chinese on phones. They answer "１", "①",
"第一个", "A", "非常满意", "我觉得挺满意的", "1、3", "三十五岁", "好的呀"; every parser here
accepts those forms and says clearly (`Parsed.problem`) why it could not understand the
rest, so the engine can explain and ask again instead of recording a guess.

Choice lookups (labels, synonyms) are built once per question object and cached, because
the engine must handle tens of thousands of messages a second on one core.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

from flows.normalize import normalize
from flows.schema import NO, YES, Question

Problem = Literal[
    "unrecognised",
    "too_many",
    "too_few",
    "out_of_range",
    "not_a_number",
    "too_short",
    "too_long",
    "ambiguous",
    "empty",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    ok: bool
    value: Any = None  # option code, list of codes, "yes"/"no", int/float, text; None for info
    problem: Problem | None = None  # why not ok


# Results are immutable, so the common ones are made once rather than per message.
_FAILED: dict[str, Parsed] = {
    problem: Parsed(ok=False, problem=problem) for problem in get_args(Problem)
}
_EMPTY = _FAILED["empty"]
_UNRECOGNISED = _FAILED["unrecognised"]
_NOT_A_NUMBER = _FAILED["not_a_number"]
_OUT_OF_RANGE = _FAILED["out_of_range"]
_INFO = Parsed(ok=True)
_YES = Parsed(ok=True, value=YES)
_NO = Parsed(ok=True, value=NO)

# Answers longer than this are not a pick from a list or a number; scanning them for
# labels would only invite false matches (and cost time on pasted essays).
_MAX_CHOICE_TEXT = 300
_MAX_NUMBER_TEXT = 80
# Numbers beyond this are typing accidents, not survey answers; refusing them also keeps
# floats exact and int() away from Python's huge-int guard.
_MAX_MAGNITUDE = 1e15


# --- Chinese numerals ------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)


def _cn_integer(text: str) -> int | None:
    """"三十五" -> 35, "一百二" -> 120 (spoken shorthand), "两万" -> 20000, "二零二四" -> 2024.

    Two bare digits ("五六") are a range in speech ("five or six"), not 56: None.
    """
    if not text:
        return None
    if not any(ch in _CN_SMALL_UNITS or ch in _CN_BIG_UNITS for ch in text):
        if len(text) == 1:
            return _CN_DIGITS[text]
        if len(text) == 2 and "零" not in text and "〇" not in text:
            return None
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = section = 0
    digit: int | None = None
    last_unit = 0  # the unit just applied, for "一百二" = 120
    after_zero = False
    for ch in text:
        if ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if digit is not None and value != 0:
                return None  # "三四十": a range, not a number
            if value == 0:
                after_zero = True
                digit = None
                continue
            digit = value
        elif ch in _CN_SMALL_UNITS:
            unit = _CN_SMALL_UNITS[ch]
            if digit is None:
                if unit != 10 or section % 100:  # only a bare "十" may stand alone
                    return None
                digit = 1
            section += digit * unit
            digit, last_unit, after_zero = None, unit, False
        else:
            unit = _CN_BIG_UNITS[ch]
            if digit is not None:
                section += digit
            if section == 0:
                return None
            total = (total + section) * unit
            section, digit, last_unit, after_zero = 0, None, unit, False
    if digit is not None:
        # Spoken shorthand: the digit after the last unit is one place lower.
        section += digit * (last_unit // 10) if last_unit >= 100 and not after_zero else digit
    return total + section


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
    rf"|(?P<cn>[{_CN_CHARS}]+)(?:点(?P<cn_frac>[{''.join(_CN_DIGITS)}]+))?)"
    rf"\s*(?:(?:{_alternatives(_NUMBER_SUFFIXES)})\s*)*+"
)


def _number_in(text: str, unit: tuple[str, ...] = ()) -> int | float | None:
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
        value: int | float | None = _arabic(match["arabic"])
        if match["mult"]:
            value = value * _MULTIPLIERS[match["mult"]]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
    else:
        if len(match["cn"]) > 20:
            return None
        value = _cn_integer(match["cn"])
        if value is not None and match["cn_frac"]:
            frac = "".join(str(_CN_DIGITS[ch]) for ch in match["cn_frac"][:15])
            value = float(f"{value}.{frac}")
    if value is not None and match["sign"] in ("-", "负"):
        value = -value
    return value


def parse_number(text: str) -> float | None:
    """"35", "３５", "三十五", "35岁", "三十五岁", "1.5", "两", "十", "一百二十" -> the number."""
    value = _number_in(normalize(text))
    return None if value is None else float(value)


# --- yes / no ----------------------------------------------------------------------------

_YES_WORDS = frozenset(
    """是 是的 对 对的 好 好的 嗯 嗯嗯 可以 行 愿意 同意 没问题 要 1 yes y ok okay sure 👍 👌 ✅
    有 当然 当然可以 肯定 好嘞 好滴 是滴 嗯呢 对头 没错 是啊 中 成
    参加 愿意参加 同意参加 可以参加 我愿意 我同意 我可以 确定 确认 确定退订 开始 需要 解决了 已解决
    yep yeah yup agree ✔ ✓ ☑ 🙆 👏 ⭕""".split()
) | {"of course", "i agree", "yes please", "ok sure"}
_NO_WORDS = frozenset(
    """否 不 不是 不要 不用 不行 不愿意 不同意 没有 算了 2 no n nope 👎 ❌
    不好 不可以 不了 不需要 不必 没 不对 拒绝 没兴趣 不想 别 没空
    不参加 不想参加 不愿意参加 不同意参加 我不愿意 我不同意 没解决 没有解决 未解决 还没解决
    nah ✖ ✗ ✘ 🙅 ⛔ 🚫""".split()
) | {"no thanks", "no thank you", "not really", "i don't", "i do not"}
# Politeness around a yes or no: "好的，谢谢" is still a yes.
_COURTESIES = frozenset(
    """谢谢 谢谢你 谢谢您 多谢 感谢 您好 你好 thanks thx hi hello 麻烦了 辛苦了""".split()
) | {"thank you"}
_TRAILING_PARTICLES = "呀啊吧啦哦噢喔哈呢嘛呗咯了的哟唷滴"
_LEADING_INTERJECTIONS = "嗯哦噢喔啊呃额哎唉我"
_YES_NO_SEPARATORS = re.compile(r"[\s,;/、]+")
_A_NOT_A = re.compile(r"(\w)[不没]\1")  # 是不是, 好不好, 有没有: a question back, not an answer


class _Ambiguous:
    pass


_AMBIGUOUS = _Ambiguous()


def _collapse_repeats(text: str) -> str:
    """"好好好" -> "好", "好的好的" -> "好的", "对对对" -> "对"."""
    size = len(text)
    for unit in range(1, min(size // 2, 4) + 1):
        if size % unit == 0 and text == text[:unit] * (size // unit):
            return text[:unit]
    return text


def _polarity_of_word(word: str) -> bool | _Ambiguous | None:
    for candidate in _word_forms(word):
        if candidate in _YES_WORDS:
            return True
        if candidate in _NO_WORDS:
            return False
    if _A_NOT_A.search(word):
        return _AMBIGUOUS
    return None


def _word_forms(word: str) -> Iterator[str]:
    yield word
    # One particle at a time: "算了吧" must reach "算了" before "算".
    stripped = word
    while len(stripped) > 1 and stripped[-1] in _TRAILING_PARTICLES:
        stripped = stripped[:-1]
        yield stripped
    yield _collapse_repeats(stripped)
    body = stripped.lstrip(_LEADING_INTERJECTIONS)
    if body and body != stripped:
        yield body
        yield _collapse_repeats(body)
    for courtesy in _COURTESIES:
        if stripped.endswith(courtesy) and len(stripped) > len(courtesy):
            yield stripped[: -len(courtesy)].rstrip(_TRAILING_PARTICLES)
        if stripped.startswith(courtesy) and len(stripped) > len(courtesy):
            yield stripped[len(courtesy) :]


def _yes_no(text: str) -> bool | _Ambiguous | None:
    """The polarity of a normalized answer; _AMBIGUOUS when it says both or asks back."""
    if not text or len(text) > _MAX_CHOICE_TEXT:
        return None
    whole = _polarity_of_word(text)
    if whole is not None:
        return whole
    found: set[bool] = set()
    for part in _YES_NO_SEPARATORS.split(text):
        if not part or part in _COURTESIES:
            continue
        polarity = _polarity_of_word(part)
        if polarity is None:
            return None  # a word we do not know may reverse the meaning
        if polarity is _AMBIGUOUS:
            return _AMBIGUOUS
        found.add(polarity)  # type: ignore[arg-type]
    if len(found) == 1:
        return found.pop()
    return _AMBIGUOUS if found else None


def parse_yes_no(text: str) -> bool | None:
    """True for yes ("好的呀", "是的。", "👍"), False for no ("不用了"), None otherwise."""
    polarity = _yes_no(normalize(text))
    return polarity if isinstance(polarity, bool) else None


# --- choices -----------------------------------------------------------------------------

_ORDINAL = re.compile(
    r"(?:我|答案是?|就)?(?:选择|选|要)?\s*(?:第|option|choice|#)?\s*[(\[【]?\s*"
    rf"(?P<n>[0-9]{{1,6}}|[{_CN_CHARS}]{{1,6}}|[a-z]{{1,26}})"
    r"\s*[)\]】]?\s*(?:个选项|项选项|选项|个|项|条|种|号|位)?"
)
# "5分", "五星": a rating given as its score, which need not be the option's position.
_SCORED = re.compile(
    rf"(?P<n>[0-9]{{1,3}}|[{_CN_CHARS}]{{1,4}})\s*(?:颗星|星|分|stars?|points?|pts)"
)
# "2. 满意" or "B 满意": the number and the label copied together from the question.
_ECHO = re.compile(
    rf"(?:第)?(?P<n>[0-9]{{1,3}}|[a-z]|[{_CN_CHARS}]{{1,3}})\s*[.、):]?\s*(?P<label>.+)"
)
_SPLIT = re.compile(r"\s*(?:[,;/|&+]|、|以及|还有|和|与|跟|及|(?<![a-z])and(?![a-z]))\s*")
_ALL_WORDS = frozenset(
    """都 全部 全选 都选 全都 都是 都要 都有 所有 全部都是 都可以 以上都是 以上全部 all""".split()
) | {"all of them", "all of the above", "everything"}
# Pieces of a multi-pick answer that carry no pick: "嗯，1和3".
_FILLERS = frozenset("嗯 嗯嗯 哦 呃 额 那个 我选 选 我选择 我觉得 我认为 答案 答案是 谢谢 好的".split())
_CHOICE_PARTICLES = "吧啊呀呢哦啦嘛哈呗咯喔噢"
_COURTESY_WORDS = re.compile("你好|您好|谢谢您|谢谢你|谢谢|多谢|麻烦了|麻烦你|辛苦了|请问")
_CJK_NEGATIONS = frozenset("不没别未无")
_EN_NEGATION = re.compile(r"(?<![a-z])(?:not|no|never|n't|dont|didnt|isnt|wasnt)(?![a-z])")


@dataclass(frozen=True, slots=True)
class _ChoiceTable:
    codes: tuple[str, ...]
    picked: tuple[Parsed, ...]  # the result for picking each option alone
    labels: dict[str, frozenset[int]]  # normalized label / synonym (also without spaces)
    by_score: dict[int, frozenset[int]]  # rating questions: "5分" / "5星" names a score
    cjk_keys: tuple[tuple[str, int], ...]  # for "contained in", longest first
    ascii_keys: tuple[tuple[str, int], ...]  # matched on word boundaries, longest first


def _build_table(question: Question) -> _ChoiceTable:
    labels: dict[str, set[int]] = {}
    by_score: dict[int, set[int]] = {}
    cjk: set[tuple[str, int]] = set()
    asc: set[tuple[str, int]] = set()
    for index, option in enumerate(question.options):
        if question.type == "rating" and option.score is not None:
            by_score.setdefault(option.score, set()).add(index)
        for raw in (option.label.zh, option.label.en, *option.synonyms):
            key = normalize(raw)
            if not key:
                continue
            compact = key.replace(" ", "")
            labels.setdefault(key, set()).add(index)
            labels.setdefault(compact, set()).add(index)
            if key.isascii():
                asc.add((key, index))
            else:
                cjk.add((compact, index))
    return _ChoiceTable(
        codes=tuple(option.code for option in question.options),
        picked=tuple(Parsed(ok=True, value=option.code) for option in question.options),
        labels={key: frozenset(found) for key, found in labels.items()},
        by_score={score: frozenset(found) for score, found in by_score.items()},
        cjk_keys=tuple(sorted(cjk, key=lambda item: (-len(item[0]), item))),
        ascii_keys=tuple(sorted(asc, key=lambda item: (-len(item[0]), item))),
    )


# Keyed by id(question) with a weak reference to check the id was not reused; pydantic
# models holding lists are unhashable, and rebuilding the table per message is too slow.
_tables: dict[int, tuple[weakref.ref[Question], _ChoiceTable]] = {}


def _table(question: Question) -> _ChoiceTable:
    key = id(question)
    entry = _tables.get(key)
    if entry is not None and entry[0]() is question:
        return entry[1]
    table = _build_table(question)

    def forget(ref: weakref.ref[Question], key: int = key) -> None:
        current = _tables.get(key)
        if current is not None and current[0] is ref:
            del _tables[key]

    _tables[key] = (weakref.ref(question, forget), table)
    return table


# The result of reading one piece of a choice answer: option indices or a problem.
_Picks = frozenset[int] | str


def _position(inner: str, count: int, multi_digits: bool) -> _Picks | None:
    """Options named by number or letter; None when `inner` is not a number or letter."""
    if inner[0].isdigit():
        if len(inner) > 1 and inner[0] != "0":
            if count >= 10:
                number = int(inner)
                return frozenset({number - 1}) if number <= count else "ambiguous"
            digits = {int(d) for d in inner}
            if multi_digits and all(1 <= d <= count for d in digits):
                return frozenset(d - 1 for d in digits)
            return "out_of_range"
        number = int(inner)
        return frozenset({number - 1}) if 1 <= number <= count else "out_of_range"
    if inner[0] in _CN_CHARS:
        number = _cn_integer(inner)
        if number is None:
            return None
        return frozenset({number - 1}) if 1 <= number <= count else "out_of_range"
    indices = {ord(letter) - 97 for letter in inner}
    if all(index < count for index in indices) and (len(inner) == 1 or len(indices) == len(inner)):
        return frozenset(indices)
    return None


def _label(table: _ChoiceTable, text: str) -> frozenset[int] | None:
    found = table.labels.get(text)
    if found is None and " " in text:
        found = table.labels.get(text.replace(" ", ""))
    return found


def _is_ascii_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _contained(table: _ChoiceTable, text: str) -> frozenset[int] | None:
    """Options whose label appears inside the answer ("我觉得非常好" -> 非常好).

    Longer labels win over labels inside them (非常好 over 好). A negation outside the
    matched labels ("不太满意" against 满意) makes the answer unrecognised rather than
    recorded as its opposite.
    """
    if len(text) > _MAX_CHOICE_TEXT:
        return None
    found: set[int] = set()
    # "你好" is a greeting, not the option "好".
    compact = _COURTESY_WORDS.sub("\0", text.replace(" ", ""))
    taken = [False] * len(compact)
    for key, index in table.cjk_keys:
        start = compact.find(key)
        while start != -1:
            end = start + len(key)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(key)
                found.add(index)
            start = compact.find(key, end)
    if found and any(ch in _CJK_NEGATIONS for ch, used in zip(compact, taken) if not used):
        return None
    ascii_found: set[int] = set()
    rest = text
    for key, index in table.ascii_keys:
        start = rest.find(key)
        while start != -1:
            end = start + len(key)
            before_ok = start == 0 or not _is_ascii_word_char(rest[start - 1])
            after_ok = end == len(rest) or not _is_ascii_word_char(rest[end])
            if before_ok and after_ok:
                ascii_found.add(index)
                rest = rest[:start] + " " * len(key) + rest[end:]
            start = rest.find(key, end)
    if ascii_found and _EN_NEGATION.search(rest):
        return None
    found |= ascii_found
    return frozenset(found) if found else None


def _read_piece(table: _ChoiceTable, text: str) -> _Picks | None:
    """One piece of a choice answer, without looking for labels inside words."""
    found = _label(table, text)
    if found is not None:
        return found
    core = text.rstrip(_CHOICE_PARTICLES) or text
    if core != text:
        found = _label(table, core)
        if found is not None:
            return found
    if table.by_score:
        scored = _SCORED.fullmatch(core)
        if scored:
            score = _cn_integer(scored["n"]) if scored["n"][0] in _CN_CHARS else int(scored["n"])
            if score is None:
                return None
            found = table.by_score.get(score)
            if found is None:
                return "out_of_range"
            return found if len(found) == 1 else "ambiguous"
    count = len(table.codes)
    ordinal = _ORDINAL.fullmatch(core)
    if ordinal:
        picks = _position(ordinal["n"], count, multi_digits=True)
        if picks is not None:
            return picks
    echo = _ECHO.fullmatch(core)
    if echo:
        named = _label(table, echo["label"])
        if named is not None:
            numbered = _position(echo["n"], count, multi_digits=False)
            if numbered is None:
                return None
            return named if numbered == named else "ambiguous"
    return None


def _read_words(table: _ChoiceTable, piece: str, read_whole: bool = True) -> _Picks | None:
    """A piece that may still hold several words: "1 3", "非常好 一般", "我觉得挺好"."""
    if read_whole:
        picks = _read_piece(table, piece)
        if picks is not None:
            return picks
    if " " in piece:
        union: set[int] = set()
        for word in piece.split(" "):
            picks = _read_piece(table, word)
            if picks is None:
                if word in _FILLERS:
                    continue
                break
            if isinstance(picks, str):
                return picks
            union |= picks
        else:
            if union:
                return frozenset(union)
    return _contained(table, piece)


def _read_choices(table: _ChoiceTable, text: str) -> _Picks:
    """The options a normalized answer names; a single choice is checked by the caller."""
    if not text:
        return "empty"
    picks = _read_piece(table, text)
    if picks is not None:
        return picks
    core = text.rstrip(_CHOICE_PARTICLES) or text
    if core in _ALL_WORDS:
        return frozenset(range(len(table.codes)))
    if len(text) > _MAX_CHOICE_TEXT:
        return "unrecognised"
    pieces = [piece for piece in _SPLIT.split(text) if piece]
    problem: str | None = None
    if len(pieces) > 1:
        union: set[int] = set()
        for piece in pieces:
            picks = _read_words(table, piece)
            if picks is None:
                if piece in _FILLERS:
                    continue
                problem = "unrecognised"
                break
            if isinstance(picks, str):
                problem = picks
                break
            union |= picks
        else:
            if union:
                return frozenset(union)
    else:
        return _read_words(table, text, read_whole=False) or "unrecognised"
    contained = _contained(table, text)
    if contained is not None:
        return contained
    return problem or "unrecognised"


def _parse_choice(question: Question, text: str, multi: bool) -> Parsed:
    table = _table(question)
    picks = _read_choices(table, normalize(text))
    if isinstance(picks, str):
        return _FAILED[picks]
    if not multi:
        if len(picks) != 1:
            return _FAILED["ambiguous"]
        (index,) = picks
        return table.picked[index]
    if question.min_choices is not None and len(picks) < question.min_choices:
        return _FAILED["too_few"]
    if question.max_choices is not None and len(picks) > question.max_choices:
        return _FAILED["too_many"]
    return Parsed(ok=True, value=[table.codes[index] for index in sorted(picks)])


# --- numbers, NPS, text ------------------------------------------------------------------

_NPS_WORDS = {"满分": 10, "零分": 0, "full marks": 10}


def _parse_nps(text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return _EMPTY
    value = _NPS_WORDS.get(normalized)
    if value is None:
        value = _number_in(normalized)
    if value is None or value != int(value):
        return _NOT_A_NUMBER
    if not 0 <= value <= 10:
        return _OUT_OF_RANGE
    return Parsed(ok=True, value=int(value))


def _parse_number(question: Question, text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return _EMPTY
    units: tuple[str, ...] = ()
    if question.unit is not None:
        units = tuple(u for u in (normalize(question.unit.zh), normalize(question.unit.en)) if u)
    value = _number_in(normalized, units)
    if value is None:
        return _NOT_A_NUMBER
    if question.integer:
        if value != int(value):
            return _NOT_A_NUMBER  # "1.5" where a whole number is asked
        value = int(value)
    else:
        value = float(value)
    if (question.min is not None and value < question.min) or (
        question.max is not None and value > question.max
    ):
        return _OUT_OF_RANGE
    return Parsed(ok=True, value=value)


def _parse_text(question: Question, text: str) -> Parsed:
    # The respondent's own words are kept exactly (only trimmed): they are the answer.
    value = text.strip()
    if not value:
        return _EMPTY
    if question.min_length is not None and len(value) < question.min_length:
        return _FAILED["too_short"]
    if question.max_length is not None and len(value) > question.max_length:
        return _FAILED["too_long"]
    return Parsed(ok=True, value=value)


def _parse_yes_no_answer(text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return _EMPTY
    polarity = _yes_no(normalized)
    if polarity is None:
        return _UNRECOGNISED
    if polarity is _AMBIGUOUS:
        return _FAILED["ambiguous"]
    return _YES if polarity else _NO


def parse_answer(question: Question, text: str) -> Parsed:
    """What `text` answers to `question`, or why it answers nothing."""
    kind = question.type
    if kind == "single_choice" or kind == "rating":
        return _parse_choice(question, text, multi=False)
    if kind == "multi_choice":
        return _parse_choice(question, text, multi=True)
    if kind == "yes_no":
        return _parse_yes_no_answer(text)
    if kind == "nps":
        return _parse_nps(text)
    if kind == "number":
        return _parse_number(question, text)
    if kind == "text":
        return _parse_text(question, text)
    return _INFO
