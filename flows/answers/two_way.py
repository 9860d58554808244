"""Replies to a two-button prompt (consent, "确定退订？", "接着上次继续？"): a yes or a no, or
the button itself as people copy it: "1", "一", "第一个", "选1", "1号", "1️⃣",
"1.确定退订", or the button's words or part of them ("继续" for 接着上次继续)."""

from __future__ import annotations

from flows.answers.choices import ECHO, ORDINAL, position
from flows.answers.yes_no import parse_yes_no
from flows.normalize import normalize

_PARTICLES = "吧啊呀呢哦啦嘛哈呗咯喔噢"


def parse_two_way(text: str, first: str, second: str) -> bool | None:
    """True for the first button (the yes), False for the second, None when unclear."""
    polarity = parse_yes_no(text)
    return polarity if polarity is not None else button_of(text, first, second)


def button_of(text: str, first: str, second: str) -> bool | None:
    """True or False when the reply names the first or second button by its number or
    words, None otherwise (a yes or a no in other words is not a button)."""
    core = normalize(text).rstrip(_PARTICLES)
    if not core:
        return None
    labels = {normalize(first): True, normalize(second): False}
    if core in labels:
        return labels[core]
    if len(core) >= 2:  # part of one button's words: "继续" for 接着上次继续
        inside = {side for label, side in labels.items() if core in label}
        if len(inside) == 1:
            return inside.pop()
    ordinal = ORDINAL.fullmatch(core)
    if ordinal:
        return _button(ordinal["n"])
    echo = ECHO.fullmatch(core)
    if echo and echo["label"] in labels:
        button = _button(echo["n"])
        return button if button is labels[echo["label"]] else None
    return None


def _button(n: str) -> bool | None:
    picked = position(n, 2, multi_digits=False)  # as a choice question reads "1", "一", "a"
    return {frozenset({0}): True, frozenset({1}): False}.get(picked) if isinstance(picked, frozenset) else None
