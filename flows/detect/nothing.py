"""Does a free-text answer say nothing? "没有", "无", "没意见", "挺好的", "👍", "no".

Reports count "opinions gathered" as the free-text answers that say something (the article's
1,700 意见建议): a reply that only declines to add anything, or only praises in a word, is
answered but is no opinion. Pure, like the rest of flows.detect.
"""

from __future__ import annotations

import re

from flows.detect import rules as R
from flows.detect.classify import classify
from flows.normalize import normalize

# Whole replies that decline to say more. The never-escalate phrases (rules.NONE) cover the
# longer ones; these are too short or too bare to be phrases there.
_BARE = frozenset(
    """没有 没 无 没了 没啥 没什么 没得 莫得 木有 冇 暂无 暂时没有 没有了 无了 都没有 啥也没有
    不用 不需要 没必要 不清楚 不知道 不晓得 随便 算了 好 好的 行 嗯 哦 可以 对 是 是的 ok okay
    no none nothing nope nil na n/a fine good yes""".split()
)
# Particles and fillers that add nothing once the phrases are taken out.
_FILLER = re.compile(
    r"(?:no|yes|ok|okay|thanks|thank|you|意见|建议|问题|补充|要求|其他|其它|别的|什么|可以|[的了吧啊呀哦嗯哈呢啦嘛喔噢哟呗都也就还很挺蛮非常特别真太好棒赞行对是\d])+"
)
_NOT_WORDS = re.compile(r"[^\w]+")


_CLAUSES = re.compile(r"[,.!?;:~、。…\n，；！？]+")


def says_nothing(text: str) -> bool:
    """Every clause declines, thanks or praises in a word: "没有，挺好的" says nothing."""
    return all(_clause_says_nothing(c) for c in _CLAUSES.split(normalize(text)))


def _clause_says_nothing(clause: str) -> bool:
    bare = _NOT_WORDS.sub("", clause).lower()
    if not bare or bare in _BARE or clause.strip().lower() in _BARE:
        return True
    found = classify(clause)
    if found.kind != R.NONE:
        return False
    rest = bare
    for words in sorted(found.matched, key=len, reverse=True):
        rest = rest.replace(_NOT_WORDS.sub("", words).lower(), "")
    return not _FILLER.sub("", rest)
