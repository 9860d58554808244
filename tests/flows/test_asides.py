"""Replies beside the answer: busy, a greeting, "who are you", and pleasantries after a survey."""

from __future__ import annotations

import pytest

from flows.answers.asides import asks_who, only_greets, only_pleasantries, says_later


@pytest.mark.parametrize(
    ("text", "expected"),
    [("以后再说", True), ("现在不方便", True), ("在忙，晚点再答", True), ("我在开车", True), ("Not now!", True),
     ("下次吧，谢谢", True), ("有空再说吧", True), ("没空", True),
     ("不方便透露", False), ("下次再来看看我们", False), ("以后能不能快一点", False), ("好的", False), ("1", False)],
)  # fmt: skip
def test_says_later(text: str, expected: bool) -> None:
    assert says_later(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("你好", True), ("您好！", True), ("在吗？", True), ("谢谢你们", True), ("早上好", True), ("hello", True),
     ("你好，我想投诉", False), ("好的", False), ("你们是谁", False)],
)  # fmt: skip
def test_only_greets(text: str, expected: bool) -> None:
    assert only_greets(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("你们是谁？", True), ("你好，请问你们是谁", True), ("有什么事吗", True), ("是骗子吗", True), ("who are you", True),
     ("我是谁", False), ("红十字会找我干嘛去了三次", False), ("好的", False)],
)  # fmt: skip
def test_asks_who(text: str, expected: bool) -> None:
    assert asks_who(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("收到", True), ("知道了", True), ("谢谢你们辛苦了", True), ("辛苦了，祝你们工作顺利", True), ("[玫瑰][握手]", True),
     ("好的，收到", True), ("再见啦", True), ("88", True),
     ("还没有", False), ("收到钱了", False), ("我的救助金没到账", False), ("救助金[流泪]", False), ("不好", False)],
)  # fmt: skip
def test_only_pleasantries(text: str, expected: bool) -> None:
    assert only_pleasantries(text) is expected
