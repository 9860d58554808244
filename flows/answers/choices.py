"""Single choice, multiple choice and rating answers: "1", "①", "第二个吧", "B", "1、3",
an option's words ("我觉得非常好"), a synonym, or a score ("5分", "五星").

Choice lookups (labels, synonyms) are built once per question object and cached, because
the engine must handle tens of thousands of messages a second on one core.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

from flows.answers.choice_meanings import COURTESY_WORDS, by_polarity, none_option, says_none, yes_no_pair
from flows.answers.lexicon import Reading, read_satisfaction
from flows.answers.numerals import CN_CHARS, cn_integer
from flows.answers.result import FAILED, MAX_CHOICE_TEXT, Parsed
from flows.normalize import normalize
from flows.schema import Question

ORDINAL = re.compile(
    r"(?:(?:我觉得|我认为|应该是|应该|就是|那个|那就|还是|嗯+|我|答案是?|就)[,，\s]*)*"
    r"(?:选择|选项|选|要)?\s*(?:第|option|choice|#)?\s*[(\[【]?\s*"
    rf"(?P<n>[0-9]{{1,6}}|[{CN_CHARS}]{{1,6}}|[a-z]{{1,26}})"
    r"\s*[)\]】]?\s*(?:号选项|个选项|项选项|选项|个|项|条|种|号|位)?(?:[,，\s]*(?:谢谢|谢谢你|谢谢您))?"
)
# "5分", "五星": a rating given as its score, which need not be the option's position.
_SCORED = re.compile(
    rf"(?P<n>[0-9]{{1,3}}|[{CN_CHARS}]{{1,4}})\s*(?:颗星|星|分|stars?|points?|pts)"
)
# "2. 满意" or "B 满意": the number and the label copied together from the question.
ECHO = re.compile(rf"(?:第)?(?P<n>[0-9]{{1,3}}|[a-z]|[{CN_CHARS}]{{1,3}})\s*[.、):]?\s*(?P<label>.+)")
_SPLIT = re.compile(r"\s*(?:[,;/|&+]|、|以及|还有|和|与|跟|及|(?<![a-z])and(?![a-z]))\s*")
# "1到3", "1-3", "第二至第四": every option from one number to another.
_RANGE = re.compile(
    rf"第?(?P<a>[0-9]{{1,2}}|[{CN_CHARS}]{{1,3}})\s*(?:到|至|-|~|—)\s*第?(?P<b>[0-9]{{1,2}}|[{CN_CHARS}]{{1,3}})"
    r"(?:个|项|条)?(?:都要|都可以|都行|都选|都需要)?"
)
# "除了4都要", "除了心理疏导以外都可以": every option but those named.
_ALL_BUT = re.compile(r"除了?(?P<but>.+?)(?:以外|之外)?(?:其他|其它|别的)?(?:都要|都可以|都行|都选|都需要|全要)")
_ALL_WORDS = frozenset(
    """都 全部 全选 都选 全都 都是 都要 都有 所有 全部都是 都可以 以上都是 以上全部 all""".split()
) | {"all of them", "all of the above", "everything"}
# Pieces of a multi-pick answer that carry no pick: "嗯，1和3".
_FILLERS = frozenset(
    "嗯 嗯嗯 哦 呃 额 那个 我选 选 我选择 我觉得 我认为 答案 答案是 谢谢 好的 不好意思 抱歉 对不起".split()
)
_CHOICE_PARTICLES = "吧啊呀呢哦啦嘛哈呗咯喔噢"
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
    # Satisfaction level (+2 … -2) -> the options whose words read so; empty unless the
    # options form a scale.
    scale: dict[int, frozenset[int]]
    none_option: int | None = None  # the one option saying there is nothing ("没有明显问题")
    # Two options that are a yes and a no ("解决了" / "还没有"): indexes of (yes, no).
    yes_no: tuple[int, int] | None = None
    multi: bool = False  # several may be picked
    # The options are problems ("最主要的问题是什么？", "哪个环节最不满意？"): a good word after
    # one ("服务态度很好") says it is not the problem. On a list of wishes it says "this one".
    about_problems: bool = False


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
        scale=_scale(question),
        codes=tuple(option.code for option in question.options),
        picked=tuple(Parsed(ok=True, value=option.code) for option in question.options),
        labels={key: frozenset(found) for key, found in labels.items()},
        by_score={score: frozenset(found) for score, found in by_score.items()},
        cjk_keys=tuple(sorted(cjk, key=lambda item: (-len(item[0]), item))),
        ascii_keys=tuple(sorted(asc, key=lambda item: (-len(item[0]), item))),
        none_option=none_option(question),
        yes_no=yes_no_pair(question),
        multi=question.type == "multi_choice",
        about_problems=bool(_PROBLEM_WORDS.search(question.prompt.zh)),
    )


_PROBLEM_WORDS = re.compile("问题|不满意|不满|困难|不足|顾虑|担心|不好|缺点|改进")


def _scale(question: Question) -> dict[int, frozenset[int]]:
    """Each option's satisfaction levels, read from its Chinese label and synonyms.

    Only when the labels themselves span at least two levels (非常满意 / 满意 / 一般 …):
    a list of problems with a synonym like "都挺好" is not a scale, and "很好" there must
    not pick the option "没有明显问题".
    """
    label_levels: set[int] = set()
    scale: dict[int, set[int]] = {}
    for index, option in enumerate(question.options):
        label = read_satisfaction(normalize(option.label.zh))
        if isinstance(label, Reading):
            label_levels.add(label.level)
        for raw in (option.label.zh, *option.synonyms):
            reading = read_satisfaction(normalize(raw))
            if isinstance(reading, Reading):
                scale.setdefault(reading.level, set()).add(index)
    if len(label_levels) < 2:
        return {}
    return {level: frozenset(found) for level, found in scale.items()}


def _by_meaning(table: _ChoiceTable, text: str) -> _Picks | None:
    """The option a satisfaction answer means on a scale ("不太满意", "满意得很", "巴适").

    The answer's level is looked up among the options' own words; when the scale has no
    option there, a strong answer takes the plain option of its side and a mild negative
    the middle (Reading.levels_to_try). Two options at one level is ambiguous.
    """
    reading = read_satisfaction(text)
    if reading is None:
        return None
    if not isinstance(reading, Reading):
        return "unrecognised"  # MIXED: hedged or asked back, so ask again
    for level in reading.levels_to_try():
        found = table.scale.get(level)
        if found:
            return found if len(found) == 1 else "ambiguous"
    return "unrecognised"


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


def position(inner: str, count: int, multi_digits: bool) -> _Picks | None:
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
    if inner[0] in CN_CHARS:
        cn_number = cn_integer(inner)
        if cn_number is None:
            return None
        return frozenset({cn_number - 1}) if 1 <= cn_number <= count else "out_of_range"
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
    matched labels ("不是那个满意" against 满意) makes the answer unrecognised rather than
    recorded as its opposite; on a scale, negation is read before this (_by_meaning).
    """
    if len(text) > MAX_CHOICE_TEXT:
        return None
    found: set[int] = set()
    # "你好" is a greeting, not the option "好".
    compact = COURTESY_WORDS.sub("\0", text.replace(" ", ""))
    taken = [False] * len(compact)
    ends: dict[int, str] = {}  # where each matched key ends → the key
    for key, index in table.cjk_keys:
        start = compact.find(key)
        while start != -1:
            end = start + len(key)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(key)
                found.add(index)
                ends[end] = key
            start = compact.find(key, end)
    if found and any(ch in _CJK_NEGATIONS for ch, used in zip(compact, taken, strict=True) if not used):
        return None
    if found and table.about_problems and _praises(compact, taken, ends):
        return None  # "服务态度很好" is not the problem 服务态度 ("没有解决好" is 没有解决): asked again
    if found and (table.multi or table.none_option not in found):
        # "心理陪伴": 心理 for 心理疏导 too. On a single choice that makes it ambiguous ("可以考虑":
        # 可以, and 考虑 of 考虑一下), except beside the "none" option ("工作人员都挺好").
        found |= _fragments_left(table, compact, taken)
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


# A "but" beside an option's words turns the answer ("没问题，就是等得太久").
_BUT = re.compile("但是|不过|可是|只是|就是|然而")
_PRAISE = re.compile(
    r"(?:也|都|还|挺|很|非常|特别|蛮|比较|真|太|算)*"
    r"(?:好|不错|还行|还可以|可以|满意|清楚|到位|周到|棒|没问题|没毛病)[的了啊呀吧哦呢,，。 ]*"
)


def _praises(compact: str, taken: list[bool], ends: dict[int, str]) -> bool:
    """Whether the words right after the last option named speak well of it: "服务态度很好",
    "实操还行" (the problem's words, then a good word about them). Not when those words carry
    their own negation: "没有解决好" is 没有解决, "反馈不够，其他都挺好" names 其他 last."""
    last = max((i for i, used in enumerate(taken) if used), default=-1)
    after = compact[last + 1 :]
    if last < 0 or not after:
        return False
    reading = read_satisfaction(after)
    if not _PRAISE.fullmatch(after) and not (isinstance(reading, Reading) and reading.level > 0):
        return False  # "好得很", "很好很耐心" speak well too
    key = ends.get(last + 1, "")
    return not any(ch in _CJK_NEGATIONS for ch in key)


def _fragments_left(table: _ChoiceTable, compact: str, taken: list[bool]) -> set[int]:
    """Options named by part of their words in what is left ("心理陪伴": 陪伴 whole, 心理
    for 心理疏导), so a second choice is not silently dropped."""
    found: set[int] = set()
    run = ""
    for ch, used in [*zip(compact, taken, strict=True), ("\0", True)]:
        if not used and ch != "\0":
            run += ch
            continue
        if len(run) >= 2:
            picked = _fragment(table, run)
            if picked:
                found |= picked
        run = ""
    return found


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
            score = cn_integer(scored["n"]) if scored["n"][0] in CN_CHARS else int(scored["n"])
            if score is None:
                return None
            found = table.by_score.get(score)
            if found is None:
                return "out_of_range"
            return found if len(found) == 1 else "ambiguous"
    count = len(table.codes)
    ordinal = ORDINAL.fullmatch(core)
    if ordinal:
        picks = position(ordinal["n"], count, multi_digits=True)
        if picks is not None:
            return picks
    echo = ECHO.fullmatch(core)
    if echo:
        named = _label(table, echo["label"])
        if named is not None:
            numbered = position(echo["n"], count, multi_digits=False)
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
            picks = _read_piece(table, word) or _fragment(table, word)
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
    return _contained(table, piece) or _fragment(table, piece)


def _fragment(table: _ChoiceTable, piece: str) -> frozenset[int] | None:
    """Part of one option's words ("政策" for 政策引导, "心理" for 心理疏导): that option, when
    no other option's words hold it. Two Chinese characters at least; a piece with a
    negation ("效率不高") only at three or more, as the option's own words."""
    core = piece.rstrip(_CHOICE_PARTICLES)
    if table.scale:  # a scale is read by meaning: "非常" alone is no level
        return None
    if len(core) < 2 or core.isascii() or core in _FILLERS:
        return None
    if any(ch in _CJK_NEGATIONS for ch in core) and len(core) < 3:
        return None  # "不够" is in several options; "效率不高" keeps the option's own negation
    found = {index for key, index in table.cjk_keys if core in key}
    if len(found) != 1:
        return None
    # "方便" is not the option 捐款不够方便, nor "知道参与方式" 不知道参与方式: the piece
    # right after a negation in the option's words says the opposite of it.
    for key, _index in table.cjk_keys:
        start = key.find(core)
        while start != -1:
            if any(ch in _CJK_NEGATIONS for ch in key[max(0, start - 2) : start]):
                return None
            start = key.find(core, start + 1)
    return frozenset(found)


def _read_choices(table: _ChoiceTable, text: str, by_meaning: bool) -> _Picks:
    """The options a normalized answer names; a single choice is checked by the caller."""
    if not text:
        return "empty"
    picks = _read_piece(table, text)
    if picks is not None:
        return picks
    if by_meaning and table.scale and len(text) <= MAX_CHOICE_TEXT:
        picks = _by_meaning(table, text)
        if picks is not None:
            return picks
    core = text.rstrip(_CHOICE_PARTICLES) or text
    if core in _ALL_WORDS:
        # "都要": every option but the one saying none is wanted ("暂时不需要").
        return frozenset(i for i in range(len(table.codes)) if i != table.none_option)
    if len(text) > MAX_CHOICE_TEXT:
        return "unrecognised"
    ranged = _RANGE.fullmatch(core)
    if ranged:
        return _from_to(table, ranged["a"], ranged["b"])
    but = _ALL_BUT.fullmatch(core)
    if but is None and core.startswith("除了"):
        return "unrecognised"  # "除了心理疏导": all but it, or it and more? Asked again.
    if but:
        left_out = _read_choices(table, but["but"], by_meaning=False)
        if isinstance(left_out, frozenset):
            rest = frozenset(i for i in range(len(table.codes)) if i not in left_out and i != table.none_option)
            return rest or "unrecognised"
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


def _from_to(table: _ChoiceTable, first: str, last: str) -> _Picks:
    a = int(first) if first.isdigit() else cn_integer(first)
    b = int(last) if last.isdigit() else cn_integer(last)
    count = len(table.codes)
    if a is None or b is None or not 1 <= a < b:
        return "unrecognised"
    if b > count:
        return "out_of_range"
    picks = frozenset(range(a - 1, b))
    # "1到5" over four wishes and "暂时不需要": the wishes.
    return picks - {table.none_option} if table.none_option is not None else picks


# "心理疏导，其他都不需要": the wishes named, and nothing else.
_NOTHING_ELSE = re.compile(
    r"[,，\s]*(?:其他|其它|别的|其余|另外)的?(?:都|也|就|暂时)*(?:不太需要|不需要|不用|不要|没有)了?[,，\s]*"
)


def parse_choice(question: Question, text: str, multi: bool) -> Parsed:
    table = _table(question)
    normalized = normalize(text)
    if multi and table.none_option is not None and _NOTHING_ELSE.search(normalized):
        named = _NOTHING_ELSE.sub(" ", normalized).strip().removeprefix("只要").strip()
        picks = _read_choices(table, named, by_meaning=False) if named else "empty"
        if isinstance(picks, frozenset) and picks and table.none_option not in picks:
            return parse_choice(question, named, multi)
    fine_but = _BUT.search(normalized) if table.about_problems else None
    if fine_but and _PRAISE.search(normalized[: fine_but.start()]):
        # "都挺好的，就是标准低了点", "工作人员很好，就是等太久": the problem is what follows the
        # "but"; when that names no option, asked again rather than read as "no problem".
        rest = normalized[fine_but.end() :].strip(" ,，")
        picks = _read_choices(table, rest, by_meaning=False) if rest else "unrecognised"
        if not isinstance(picks, frozenset) or not picks or table.none_option in picks:
            return FAILED["unrecognised"]
        return parse_choice(question, rest, multi)
    picks = _read_choices(table, normalized, by_meaning=not multi)
    if picks == "unrecognised" and table.none_option is not None and says_none(
        normalized, about_problems=table.about_problems
    ):
        picks = frozenset({table.none_option})
    if picks == "unrecognised" and table.yes_no is not None:
        picks = by_polarity(table.yes_no, normalized) or picks
    if isinstance(picks, str):
        return FAILED[picks]
    if not multi:
        if len(picks) != 1:
            return FAILED["ambiguous"]
        (index,) = picks
        return table.picked[index]
    if table.none_option is not None and table.none_option in picks and len(picks) > 1:
        return FAILED["ambiguous"]  # "1和5" with 5 = 暂时不需要: both cannot be meant
    if question.min_choices is not None and len(picks) < question.min_choices:
        return FAILED["too_few"]
    if question.max_choices is not None and len(picks) > question.max_choices:
        return FAILED["too_many"]
    return Parsed(ok=True, value=[table.codes[index] for index in sorted(picks)])
