"""Words that steer the conversation instead of answering the question.

Only a whole message counts ("停止" is a command; "我不想停止志愿服务" is an answer), so a
respondent's sentence is never mistaken for an opt-out.
"""

from __future__ import annotations

import re
from enum import StrEnum

from flows.normalize import normalize


class Command(StrEnum):
    STOP = "stop"
    HELP = "help"
    SKIP = "skip"
    RESTART = "restart"


_WORDS: dict[Command, tuple[str, ...]] = {
    # "td"/"回复td退订" is how Chinese SMS marketing teaches people to unsubscribe.
    Command.STOP: (
        "退订", "取消订阅", "停止", "不要再发了", "不要再发", "别再发了", "别发了", "停止发送",
        "别再给我发了", "不要再给我发了", "别再给我发消息", "不要再给我发消息", "别再发消息", "不要再发消息",
        "别烦我", "不要烦我", "别打扰我", "不要打扰我", "别再打扰我", "不要再打扰我",
        "别再联系我", "不要再联系我", "不想收到", "不想再收到", "取消关注",
        "td", "stop", "unsubscribe", "/stop",
    ),
    Command.HELP: (
        "帮助", "怎么回答", "怎么答", "怎么回复", "怎么填", "什么意思", "啥意思", "看不懂", "求助",
        "help", "/help",
    ),
    Command.SKIP: ("跳过", "下一题", "不想回答", "不想答", "不回答", "略过", "skip", "/skip", "pass", "next"),
    Command.RESTART: (
        "重新开始", "重来", "从头开始", "重新来", "重新填", "重填", "restart", "/restart", "start over",
    ),
}  # fmt: skip
_COMMANDS: dict[str, Command] = {
    word: command for command, words in _WORDS.items() for word in words
}
# Around a command, adding nothing: "我要退订", "请停止发送", "别再发了，谢谢", "停止吧".
_ASKING = re.compile(r"^(?:我要|我想|请|麻烦|帮我|麻烦你|麻烦您)+")
_AFTER = re.compile(r"(?:[,，\s]*(?:谢谢|谢谢你|谢谢您|好吗|行吗|可以吗))+$|[了吧啊呀哦啦嘛]+$")
# normalize drops edge punctuation, which would leave a bare "?" empty.
_QUESTION_MARKS = frozenset("?？")


def detect_command(text: str) -> Command | None:
    """The command a whole message gives, or None when it is anything else (an answer)."""
    normalized = normalize(text)
    if not normalized:
        marks = "".join(text.split())
        if marks and _QUESTION_MARKS.issuperset(marks):
            return Command.HELP
        return None
    command = _COMMANDS.get(normalized)
    if command is None and " " in normalized:
        command = _COMMANDS.get(normalized.replace(" ", ""))
    if command is None and normalized.startswith("/") and "@" in normalized:
        # Telegram group commands carry the bot's name: "/stop@huifang_bot".
        command = _COMMANDS.get(normalized.split("@", 1)[0])
    if command is None and not normalized.isascii():
        bare = _AFTER.sub("", _ASKING.sub("", normalized)).strip()
        if bare != normalized:
            command = _COMMANDS.get(bare) or _COMMANDS.get(bare + "了")
    return command
