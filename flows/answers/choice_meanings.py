"""What a choice answer means when it names no option by number or words.

- "没有" (没有了, 没啥问题, 不需要) to a question with exactly one option saying there is none
  ("没有明显问题", "暂时不需要", code `none`): that option.
- Any yes or no ("好的", "👍", "还是不行", "不满意") to two options that are a yes and a no
  ("解决了" / "还没有"): that side's option.

Used by flows/answers/choices.py once its own reading found nothing.
"""

from __future__ import annotations

import re

from flows.answers.lexicon import Reading, read_satisfaction
from flows.answers.yes_no import parse_yes_no
from flows.normalize import normalize
from flows.schema import Question

# "你好", "谢谢" around an answer ("你好" is a greeting, not the option "好").
# "麻烦了" thanks someone for their trouble, unless it says what is troublesome ("手续太麻烦了").
COURTESY_WORDS = re.compile(
    "你好|您好|谢谢您|谢谢你|谢谢|多谢|(?<![太很真好挺蛮别多])麻烦了|麻烦你|辛苦了|请问|不好意思|抱歉|对不起"
)
# "没有" to "what is the main problem?": the option that says there is none, when the
# question has exactly one (its code "none", or its words begin so: "没有明显问题",
# "没有顾虑", "暂无", "暂时不需要"). Not "无…" alone: "无偿献血" is a kind of donation.
_NONE_LABEL = re.compile(r"(?:没有|暂无|都没有|无明显|没什么|暂时不需要|不需要|都不需要)")
_NONE_CODES = frozenset({"none", "nothing", "no_problem", "not_needed", "no_need"})
_SAYS_NONE = frozenset(
    """没有 没 无 没了 没啥 没什么 没得 莫得 木有 冇 暂无 暂时没有 都没有 啥也没有 什么都没有 没有什么
    没有问题 没问题 没什么问题 没啥问题 没有困难 没困难 没什么困难 没有顾虑 没顾虑 没什么顾虑 没有担心
    没有明显问题 没有明显困难 没有什么问题 没有什么困难 不担心 没毛病 都挺好 挺好 都很好 一切都好 都好 都满意
    不需要 不用 都不需要 暂时不需要 都不用 no none nothing nope""".split()
) | {"no problem", "no problems", "not really"}
_SAYS_NONE_EDGES = "了的啊呀吧呢哦啦嘛喔噢,.!。，！~ "


def yes_no_pair(question: Question) -> tuple[int, int] | None:
    """(yes, no) when the question has two options whose words are a yes and a no, and
    at most one more that is neither ("愿意 / 不确定 / 不愿意")."""
    if question.type != "single_choice" or len(question.options) not in (2, 3):
        return None
    sides = []
    for option in question.options:
        votes = [parse_yes_no(raw) for raw in (option.label.zh, *option.synonyms)]
        yes, no = votes.count(True), votes.count(False)
        sides.append(True if yes > no else False if no > yes else None)
    if sides.count(True) != 1 or sides.count(False) != 1:
        return None
    return (sides.index(True), sides.index(False))


def by_polarity(pair: tuple[int, int], text: str) -> frozenset[int] | None:
    """"好的", "👍", "还是不行", "不满意" to "解决了吗？ 解决了 / 还没有": a yes or a no, or
    satisfaction on either side, picks that side's option."""
    if any(ch.isdigit() for ch in text):
        return None  # "2" is the second option, not a no (three options: 愿意 / 不确定 / 不愿意)
    said = parse_yes_no(text)
    if said is None:
        reading = read_satisfaction(text)
        if isinstance(reading, Reading) and reading.level != 0:
            said = reading.level > 0
    if said is None:
        return None
    return frozenset({pair[0] if said else pair[1]})


def none_option(question: Question) -> int | None:
    found = [
        index
        for index, option in enumerate(question.options)
        if option.code in _NONE_CODES or _NONE_LABEL.match(normalize(option.label.zh).replace(" ", ""))
    ]
    return found[0] if len(found) == 1 else None


# "All is well": no problem, when the options are problems; on a list of wishes ("您还希望
# 得到哪些帮助？") "都好" may as well mean "all of them", so it picks nothing there.
_ALL_WELL = frozenset("都挺好 挺好 都很好 一切都好 都好 都满意".split())


def says_none(text: str, *, about_problems: bool = True) -> bool:
    """A bare "没有" ("没有了", "没啥问题", "没有，谢谢"): nothing to pick but "none"."""
    bare = COURTESY_WORDS.sub("", text).strip(_SAYS_NONE_EDGES)
    compact = bare.replace(" ", "")
    return (bare in _SAYS_NONE or compact in _SAYS_NONE) and (about_problems or compact not in _ALL_WELL)
