"""Yes / no answers: "好的呀", "是的。", "👍", "不用了", "不了，谢谢"."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flows.answers.lexicon import (
    A_NOT_A,
    COURTESIES,
    NO_WORDS,
    YES_WORDS,
    collapse_repeats,
    read_yes_no,
)
from flows.answers.result import (
    EMPTY,
    FAILED,
    MAX_CHOICE_TEXT,
    NO_PARSED,
    UNRECOGNISED,
    YES_PARSED,
    Parsed,
)
from flows.normalize import normalize

_TRAILING_PARTICLES = "呀啊吧啦哦噢喔哈呢嘛呗咯了的哟唷滴"
_LEADING_INTERJECTIONS = "嗯哦噢喔啊呃额哎唉我"
_SEPARATORS = re.compile(r"[\s,;/、]+")


class _Ambiguous:
    pass


_AMBIGUOUS = _Ambiguous()


def _polarity_of_word(word: str) -> bool | _Ambiguous | None:
    for candidate in _word_forms(word):
        if candidate in YES_WORDS:
            return True
        if candidate in NO_WORDS:
            return False
    if A_NOT_A.search(word):
        return _AMBIGUOUS
    return read_yes_no(word)


def _word_forms(word: str) -> Iterator[str]:
    yield word
    # One particle at a time: "算了吧" must reach "算了" before "算".
    stripped = word
    while len(stripped) > 1 and stripped[-1] in _TRAILING_PARTICLES:
        stripped = stripped[:-1]
        yield stripped
    yield collapse_repeats(stripped)
    body = stripped.lstrip(_LEADING_INTERJECTIONS)
    if body and body != stripped:
        yield body
        yield collapse_repeats(body)
    for courtesy in COURTESIES:
        if stripped.endswith(courtesy) and len(stripped) > len(courtesy):
            yield stripped[: -len(courtesy)].rstrip(_TRAILING_PARTICLES)
        if stripped.startswith(courtesy) and len(stripped) > len(courtesy):
            yield stripped[len(courtesy) :]


def _yes_no(text: str) -> bool | _Ambiguous | None:
    """The polarity of a normalized answer; _AMBIGUOUS when it says both or asks back."""
    if not text or len(text) > MAX_CHOICE_TEXT:
        return None
    whole = _polarity_of_word(text)
    if whole is not None:
        return whole
    found: set[bool] = set()
    for part in _SEPARATORS.split(text):
        if not part or part in COURTESIES:
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


def parse_yes_no_answer(text: str) -> Parsed:
    normalized = normalize(text)
    if not normalized:
        return EMPTY
    polarity = _yes_no(normalized)
    if polarity is None:
        return UNRECOGNISED
    if polarity is _AMBIGUOUS:
        return FAILED["ambiguous"]
    return YES_PARSED if polarity else NO_PARSED
