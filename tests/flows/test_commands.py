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
        # Wrapped in courtesy or assent, repeated, or said as "stop sending".
        ("你好，退订", Command.STOP),
        ("谢谢，退订", Command.STOP),
        ("好的，退订。谢谢", Command.STOP),
        ("嗯，退订", Command.STOP),
        ("退订一下", Command.STOP),
        ("麻烦退订一下", Command.STOP),
        ("退订退订", Command.STOP),
        ("不要发了", Command.STOP),
        ("别给我发了", Command.STOP),
        ("不要再发信息了", Command.STOP),
        ("以后不要再给我发短信了", Command.STOP),
        ("烦死了别发了", Command.STOP),
        ("我不想再收到这些消息", Command.STOP),
        ("我要退出", Command.STOP),
        ("回复TD退订", Command.STOP),
        ("不要再问了", Command.STOP),
        ("我想跳过", Command.SKIP),
        ("不好意思，退订", Command.STOP),
        ("退订吧，谢谢", Command.STOP),
        ("对不起，不要再发了", Command.STOP),
        ("不用再回访了", Command.STOP),
        ("别再问我了", Command.STOP),
        ("不好意思，跳过", Command.SKIP),
        ("我不想答了", Command.SKIP),
        ("不想答了", Command.SKIP),  # this question, not every message from now on
        ("不答了", Command.SKIP),
        ("再说一遍", Command.HELP),
        ("没看懂", Command.HELP),
        ("怎么选？", Command.HELP),
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
        "不想参加了",  # to "would you volunteer again?": an answer
        "退出了",  # "I have left (the volunteers)"
        "停止了",
        "不用发了",  # to "shall we post the certificate?": an answer
        "不要紧",
        "发了",
        "好的，谢谢",
    ],
)
def test_sentences_are_not_commands(raw: str) -> None:
    assert detect_command(raw) is None


def test_commands_are_plain_strings_for_storage() -> None:
    assert Command.STOP == "stop"
    assert [c.value for c in Command] == ["stop", "help", "skip", "restart"]
