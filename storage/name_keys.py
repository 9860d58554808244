"""The pinyin of a person's name, so staff on a phone find 张三丰 by typing "zsf" or "zhangsan".

`pinyin_key("张三丰")` is "zhangsanfeng zsf": the syllables without tones run together, then
their initials. A surname read two ways gets both (曾 ceng/zeng, 单 dan/shan), since
pypinyin's first reading of a character is not always a surname's. Letters in the name stay
as they are, lower-cased; anything else is dropped. Stored beside the name
(respondents.name_pinyin) wherever a name is written, and matched with LIKE.
"""

from __future__ import annotations

import re

_NOT_LETTERS = re.compile(r"[^a-z]+")
_MAX_NAME = 100  # longer "names" are notes pasted by mistake: no key


def pinyin_key(name: str | None) -> str | None:
    if not name or not name.strip() or len(name) > _MAX_NAME:
        return None
    # Imported here: its dictionaries take ~0.3 s to load, and only name writes need them.
    from pypinyin import Style, lazy_pinyin, pinyin

    text = name.strip()
    rest = [_NOT_LETTERS.sub("", s.lower()) for s in lazy_pinyin(text[1:])]
    rest = [s for s in rest if s]
    firsts = [_NOT_LETTERS.sub("", s.lower()) for s in pinyin(text[0], style=Style.NORMAL, heteronym=True)[0][:3]]
    keys: list[str] = []
    for first in dict.fromkeys(f for f in firsts if f) or [""]:
        syllables = [first, *rest] if first else rest
        if not syllables:
            continue
        keys += ["".join(syllables), "".join(s[0] for s in syllables)]
    return " ".join(dict.fromkeys(keys)) or None


def pinyin_query(text: str) -> str | None:
    """What a search for `text` looks for in the keys: letters only ("Zhang San" → "zhangsan"),
    None when the search is not pinyin (Chinese characters, digits)."""
    letters = text.strip().lower().replace(" ", "")
    return letters if letters and letters.isascii() and letters.isalpha() else None
