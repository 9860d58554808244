"""Words of satisfaction and of yes/no, and the negation and degree words around them.

One vocabulary for both readings, so "不太", "没有", "还没", "莫得" mean the same whether
they qualify "满意" on a rating or "收到" on a yes/no question.

A reading walks the answer as tokens (longest known word first, one character otherwise)
and applies the words just before a stem, nearest first: "没有不满意" is 满意 negated
twice, so satisfied; "不太满意" is mildly negative; "满意得很" is strong. Anything that
makes the answer two-sided (但是, 吗, A-not-A "满不满意", a negation with no word to
negate) makes it unreadable rather than half read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

# --- the vocabulary ----------------------------------------------------------------------

NEGATORS = frozenset(
    "不 没 没有 未 无 莫得 没得 还没 还没有 还未 尚未 暂未 并不 并没有 从不 从没 没什么".split()
)
# "Not very": negative, but less so than a plain 不 (and on a negative word, roughly neutral).
SOFTENERS = frozenset(
    """不太 不怎么 不咋 不是很 不是太 不大 不算 不算太 不是特别 不那么 不是那么 没那么 没有那么
    不够 不怎么太 不太怎么""".split()
)
INTENSIFIERS = frozenset(
    "非常 特别 很 太 超 超级 十分 极 极其 相当 真 真的 最 贼 巨 特 老 忒 实在 格外 尤其".split()
)
# Degree words that leave the strength as it is but keep the words before them attached
# ("并不是很满意": 并不 still reaches 满意 through 是 and 很).
MODERATORS = frozenset(
    "挺 比较 还 还算 蛮 还挺 算 较 都 也 还是 是 确实 都挺 有点 有些 基本 基本上 总体 整体".split()
)
# After the stem: "满意得很", "好极了", Sichuan "巴适得板", "安逸惨了".
STRONG_SUFFIXES = frozenset(
    "得很 极了 死了 得不得了 透了 透顶 得板 惨了 得不摆了 不摆了 得要命 得没话说 没话说".split()
)
PARTICLES = frozenset("的 了 啊 呀 吧 啦 哦 噢 喔 哈 呢 嘛 呗 咯 哟 唷 滴 咧 嘞 哇 哒".split())
# Words that make an answer two-sided or a question back: never half read.
HEDGES = frozenset(
    """但 但是 不过 可是 只是 就是 然而 虽然 虽 却 吗 么 不知道 不清楚 不确定 说不好 说不准
    说不清 不好说 难说 不一定""".split()
)
# Politeness around an answer: "好的，谢谢" is still a yes, "你好" is not the option "好".
COURTESIES = frozenset(
    """谢谢 谢谢你 谢谢您 多谢 感谢 您好 你好 thanks thx hi hello 麻烦了 辛苦了 不好意思 抱歉 对不起""".split()
) | {"thank you"}
_NOT_STEMS = frozenset(
    """好像 好多 好几 好久 正好 刚好 只好 好在 爱好 好处 出差 差距 差点 相差 时差 误差 一般来说
    满意度 觉得 感觉 什么 怎么""".split()
)

# Satisfaction stems and their level: +2 very good … -2 very bad.
SATISFACTION: dict[str, int] = {
    **dict.fromkeys(
        """满意 好 不错 良好 棒 赞 优秀 满足 舒服 舒心 放心 称心 到位 周到 理想 好评 给力 靠谱
        喜欢 开心 巴适 安逸 要得 得劲""".split(),
        1,
    ),
    **dict.fromkeys("完美 满分 没得说 一流".split(), 2),
    **dict.fromkeys(
        """一般 一般般 还行 还可以 还好 马马虎虎 马虎 凑合 还凑合 将就 过得去 说得过去 差不多
        普通 中等 中规中矩 就那样 不好不坏 不好不差 平平 平常 尚可""".split(),
        0,
    ),
    **dict.fromkeys(
        "差 差劲 糟 糟糕 烂 不行 失望 撇 孬 坏 不咋地 不咋样 不怎么样 差评 恼火 不像话".split(), -1
    ),
    **dict.fromkeys("一塌糊涂 极差 糟透".split(), -2),
    # A face or a thumb sent alone is how many older people on WeChat answer "how was it?".
    # (Variation selectors are gone after normalize: "❤️" is "❤" here.)
    **dict.fromkeys("👍 👌 👏 😊 🙂 😀 😃 😄 😁 ☺ ❤ 🥰 😍 [强] [ok] [赞] [鼓掌] [玫瑰] [爱心]".split(), 1),
    "💯": 2,
    **dict.fromkeys("😐 😑".split(), 0),
    **dict.fromkeys("👎 🙁 ☹ 😞 😟 😒".split(), -1),
    **dict.fromkeys("😡 😠 🤬".split(), -2),
}

# Whole answers that are a yes or a no as they stand (after particles and politeness).
YES_WORDS = frozenset(
    """是 是的 对 对的 好 好的 嗯 嗯嗯 可以 行 愿意 同意 没问题 要 1 yes y ok okay sure 👍 👌 ✅
    有 当然 当然可以 肯定 好嘞 好滴 是滴 嗯呢 对头 没错 是啊 中 成
    参加 愿意参加 同意参加 可以参加 我愿意 我同意 我可以 确定 确认 确定退订 开始 需要 解决了 已解决
    你问 问 问吧 请问吧 你说 说吧 来 来吧 开始吧 嗯呐 嗯哪 [ok] [强] [好的] [胜利]
    yep yeah yup agree ✔ ✓ ☑ 🙆 👏 ⭕""".split()
) | {"of course", "i agree", "yes please", "ok sure"}
NO_WORDS = frozenset(
    """否 不 不是 不要 不用 不行 不愿意 不同意 没有 算了 2 no n nope 👎 ❌
    不好 不可以 不了 不需要 不必 没 不对 拒绝 没兴趣 不想 别 没空
    不参加 不想参加 不愿意参加 不同意参加 我不愿意 我不同意 没解决 没有解决 未解决 还没解决
    nah ✖ ✗ ✘ 🙅 ⛔ 🚫""".split()
) | {"no thanks", "no thank you", "not really", "i don't", "i do not"}
# Yes/no stems: the verb or word a yes affirms ("收到了") and a no negates ("没收到").
YES_STEMS = frozenset(
    """是 有 对 好 要 行 可以 愿意 同意 参加 需要 收到 接到 拿到 领到 到 到账 要得 得行 中 成 想
    会 能 去""".split()
)
# Around a yes or no, adding nothing: "我已经收到了", "嗯，收到".
YES_NO_FILLERS = frozenset(
    """已经 已 早就 早 都 也 还 就 刚 刚刚 确实 真的 当然 肯定 暂时 目前 现在 一直 其实
    嗯 嗯嗯 哦 噢 喔 啊 呃 额 哎 唉 我 我们 咱 俺""".split()
)

A_NOT_A = re.compile(r"(\w)[不没]\1")  # 满不满意, 好不好, 有没有: a question back
# Scorn that holds a good word: "好什么好", "好个屁", "谁说好了", "还好意思问" (but "不好意思"
# is an apology). Never read as praise; asked again, so the words stay with the answer.
SCORN = re.compile(r"(\w{1,2})什么\1|个屁|个鬼|个头|谁说|(?<!不)好意思")
_STRAY_NEGATIONS = frozenset("不没未无别非否莫")


def collapse_repeats(text: str) -> str:
    """"好好好" -> "好", "好的好的" -> "好的", "不错不错" -> "不错"."""
    size = len(text)
    for unit in range(1, min(size // 2, 4) + 1):
        if size % unit == 0 and text == text[:unit] * (size // unit):
            return text[:unit]
    return text


class Kind(Enum):
    STEM = "stem"
    NEGATOR = "negator"
    SOFTENER = "softener"
    INTENSIFIER = "intensifier"
    MODERATOR = "moderator"
    SUFFIX = "suffix"
    FILLER = "filler"  # particles, courtesies: ignored
    HEDGE = "hedge"
    OTHER = "other"  # a word we do not know


def _dictionary(stems: frozenset[str] | dict[str, int], fillers: frozenset[str]) -> dict[str, Kind]:
    # Later entries win, so a longer stem ("不错", "不行") is a stem and not 不 + something.
    words: dict[str, Kind] = {}
    for group, kind in (
        (_NOT_STEMS, Kind.OTHER),
        (MODERATORS, Kind.MODERATOR),
        (INTENSIFIERS, Kind.INTENSIFIER),
        (NEGATORS, Kind.NEGATOR),
        (SOFTENERS, Kind.SOFTENER),
        (STRONG_SUFFIXES, Kind.SUFFIX),
        (PARTICLES | COURTESIES | fillers, Kind.FILLER),
        (HEDGES, Kind.HEDGE),
        (frozenset(stems), Kind.STEM),
    ):
        words.update(dict.fromkeys(group, kind))
    return words


_SATISFACTION_WORDS = _dictionary(SATISFACTION, frozenset())
_YES_NO_WORDS = _dictionary(YES_STEMS, YES_NO_FILLERS)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    kind: Kind


# English words never reach the tokenizer, so only the Chinese ones bound the lookahead.
_LONGEST = max(len(w) for w in (*_SATISFACTION_WORDS, *_YES_NO_WORDS) if not w.isascii())


def _tokens(text: str, words: dict[str, Kind]) -> list[_Token]:
    """Longest known word first; punctuation, emoji and spaces break chains but say nothing."""
    longest = _LONGEST
    out: list[_Token] = []
    i, size = 0, len(text)
    while i < size:
        for length in range(min(longest, size - i), 0, -1):
            piece = text[i : i + length]
            kind = words.get(piece)
            if kind is not None:
                out.append(_Token(piece, kind))
                i += length
                break
        else:
            char = text[i]
            if char.isspace() or unicodedata.category(char)[0] in "PS":
                out.append(_Token(char, Kind.FILLER))
            else:
                out.append(_Token(char, Kind.OTHER))
            i += 1
    return out


# --- satisfaction ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """Where an answer sits on a satisfaction scale: +2 very good … -2 very bad.

    `mild` marks a softened negative ("不太满意"): on a scale with no negative option it is
    the lowest option there is, rather than nothing.
    """

    level: int
    mild: bool = False

    def levels_to_try(self) -> tuple[int, ...]:
        """The scale levels this answer may mean, best first.

        A strong answer falls back to the plain option of the same side and a plain one to
        the strong option (a scale need not have both); a mild negative falls back to the
        middle; the middle falls back to nothing.
        """
        if self.mild:
            return (-1, 0)
        if self.level == 0:
            return (0,)
        side = 1 if self.level > 0 else -1
        return (self.level, side) if abs(self.level) == 2 else (self.level, 2 * side)


MIXED = "mixed"  # the answer hedges, asks back or says both: unreadable, not unknown


def read_satisfaction(text: str) -> Reading | str | None:
    """The satisfaction a normalized answer expresses.

    A Reading; MIXED when it hedges or asks back ("满意吗", "说不好", "满意是满意，就是…");
    None when it holds no satisfaction word or contradicts itself ("以前不好，现在好了"),
    so other readers may try.
    """
    if not text or text.isascii() or any(ch.isascii() and ch.isalnum() for ch in text):
        return None  # option numbers and English are read elsewhere
    # Repeating an answer is emphasis, not the A-not-A of a question ("不错不错").
    compact = collapse_repeats("".join(text.split()))
    if A_NOT_A.search(compact) or SCORN.search(compact):
        return MIXED
    tokens = _tokens(compact, _SATISFACTION_WORDS)
    if any(t.kind is Kind.HEDGE for t in tokens):
        return MIXED
    readings: set[Reading] = set()
    attached: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind is not Kind.STEM or _is_degree_hao(tokens, index):
            continue
        reading = _reading_at(tokens, index, attached)
        if reading is None:
            return MIXED  # "不一般": a negated middle says nothing we can place
        readings.add(reading)
    for index, token in enumerate(tokens):
        unused_negation = token.kind in (Kind.NEGATOR, Kind.SOFTENER) or (
            token.kind is Kind.OTHER and token.text in _STRAY_NEGATIONS
        )
        if unused_negation and index not in attached:
            return None  # a negation we cannot place may reverse the meaning
    if len(readings) != 1:
        return None
    return readings.pop()


def _is_degree_hao(tokens: list[_Token], index: int) -> bool:
    """"好满意", "好差": 好 before another stem means "very", not "good"."""
    token = tokens[index]
    if token.text != "好" or index + 1 >= len(tokens):
        return False
    following = tokens[index + 1]
    return following.kind is Kind.STEM and following.text != "好"


def _reading_at(tokens: list[_Token], index: int, attached: set[int]) -> Reading | None:
    level = SATISFACTION[tokens[index].text]
    mild = False
    after = index + 1
    if after < len(tokens) and tokens[after].kind is Kind.SUFFIX and level != 0:
        level = 2 if level > 0 else -2
    before = index - 1
    while before >= 0:
        token = tokens[before]
        kind = token.kind
        if (kind is Kind.STEM and _is_degree_hao(tokens, before)) or kind is Kind.SUFFIX:
            kind = Kind.INTENSIFIER  # "好满意"; "讲得很好", where 得很 ends before the stem
        if kind is Kind.INTENSIFIER:
            if level in (1, -1) and not mild:
                level *= 2
        elif kind is Kind.NEGATOR:
            if level == 0 or mild:
                return None
            # "不非常满意" is "not very": mildly negative. "不差" is fine; "没有不满意" too.
            if level == 2:
                level, mild = -1, True
            else:
                level = 0 if level == -2 else -level
        elif kind is Kind.SOFTENER:
            if level == 0 or mild:
                return None
            level, mild = (-1, True) if level > 0 else (0, False)
        elif kind is not Kind.MODERATOR:
            break
        attached.add(before)
        before -= 1
    return Reading(level, mild)


# --- yes / no ----------------------------------------------------------------------------


def read_yes_no(text: str) -> bool | None:
    """Yes or no from words composed with negation: "收到了", "已经收到了", "还没有",
    "没收到", "未收到", "莫得", "要得". None unless every word is known and one way.

    Stricter than the satisfaction reading: a yes/no answer is short, and one unknown word
    ("记不清了", "不知道") may be the whole meaning.
    """
    compact = "".join(text.split())
    if not compact or any(ch.isascii() and ch.isalnum() for ch in compact):
        return None
    if any(unicodedata.category(ch)[0] == "P" for ch in compact):
        return None  # "不，是的" is two answers; the caller reads each part
    tokens = _tokens(compact, _YES_NO_WORDS)
    polarities: list[bool] = []
    negations = 0
    pending = 0  # negations since the last stem
    for token in tokens:
        kind = token.kind
        if kind is Kind.STEM:
            polarities.append(pending % 2 == 0)
            pending = 0
        elif kind in (Kind.NEGATOR, Kind.SOFTENER):
            pending += 1
            negations += 1
        elif kind in (Kind.FILLER, Kind.MODERATOR, Kind.INTENSIFIER):
            continue
        else:
            return None
    if not polarities:
        return False if pending else None  # "还没", "没有", "莫得": a bare no
    if pending:
        return None  # "收到没": asked back
    if len(polarities) > 1 and negations:
        return None  # "不是没收到": two verbs and a negation, too easy to misread
    return polarities[0] if len(set(polarities)) == 1 else None
