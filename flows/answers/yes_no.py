"""Yes / no answers: "好的呀", "是的。", "👍", "不用了", "不了，谢谢"."""

from __future__ import annotations

import re
from collections.abc import Iterator

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
_SEPARATORS = re.compile(r"[\s,;/、]+")
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
    if not text or len(text) > MAX_CHOICE_TEXT:
        return None
    whole = _polarity_of_word(text)
    if whole is not None:
        return whole
    found: set[bool] = set()
    for part in _SEPARATORS.split(text):
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
