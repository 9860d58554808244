"""Whole messages that steer the conversation; everything else stays an answer."""

from __future__ import annotations

import pytest

from flows.commands import Command, detect_command


@pytest.mark.parametrize(
    ("raw", "command"),
    [
        ("退订", Command.STOP),
        ("取消订阅", Command.STOP),
        ("停止", Command.STOP),
        ("不要再发了", Command.STOP),
        ("不要再发了！", Command.STOP),
        ("STOP", Command.STOP),
        ("Stop", Command.STOP),
        ("ＳＴＯＰ", Command.STOP),
        ("unsubscribe", Command.STOP),
        ("/stop", Command.STOP),
        ("/stop@huifang_bot", Command.STOP),
        ("TD", Command.STOP),
        # As people say it: asked for, with a particle or a thanks around it.
        ("我要退订", Command.STOP),
        ("退訂", Command.STOP),  # traditional characters
        ("取消訂閱", Command.STOP),
        ("请停止发送", Command.STOP),
        ("别再给我发了", Command.STOP),
        ("不要再给我发消息了", Command.STOP),
        ("别发了，谢谢", Command.STOP),
        ("停止吧", Command.STOP),
        ("别烦我", Command.STOP),
        ("不要再联系我了", Command.STOP),
        ("我想跳过", Command.SKIP),
        ("重新开始吧", Command.RESTART),
        ("帮助", Command.HELP),
        ("怎么回答", Command.HELP),
        ("怎么回答？", Command.HELP),
        ("?", Command.HELP),
        ("？", Command.HELP),
        ("？？", Command.HELP),
        (" ? ", Command.HELP),
        ("HELP", Command.HELP),
        ("/help", Command.HELP),
        ("跳过", Command.SKIP),
        ("下一题", Command.SKIP),
        ("不想回答", Command.SKIP),
        ("不想回答。", Command.SKIP),
        ("SKIP", Command.SKIP),
        ("/skip", Command.SKIP),
        ("重新开始", Command.RESTART),
        ("重新 开始", Command.RESTART),
        ("重来", Command.RESTART),
        ("从头开始", Command.RESTART),
        ("RESTART", Command.RESTART),
        ("/restart", Command.RESTART),
        ("start over", Command.RESTART),
    ],
)
def test_commands(raw: str, command: Command) -> None:
    assert detect_command(raw) is command


@pytest.mark.parametrize(
    "raw",
    [
        "我不想停止志愿服务",  # contains 停止, but is an answer
        "停止了吗",  # a question about it
        "不要停止",
        "请不要停止",
        "帮助别人很快乐",
        "跳过这个问题会怎样",
        "stop it now please",
        "help me understand",
        "/start",
        "好的",
        "1",
        "",
        "。",
        "??好",
    ],
)
def test_sentences_are_not_commands(raw: str) -> None:
    assert detect_command(raw) is None


def test_commands_are_plain_strings_for_storage() -> None:
    assert Command.STOP == "stop"
    assert [c.value for c in Command] == ["stop", "help", "skip", "restart"]
