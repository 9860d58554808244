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
        "别再联系我", "不要再联系我", "不想收到", "不想再收到", "取消关注", "退出", "退出回访", "退出问卷",
        "不要再问了", "别再问了", "别问了", "td", "td退订", "回复td退订", "回td退订",
        "stop", "unsubscribe", "/stop",
    ),
    Command.HELP: (
        "帮助", "怎么回答", "怎么答", "怎么回复", "怎么填", "什么意思", "啥意思", "看不懂", "求助",
        "没看懂", "看不明白", "再说一遍", "能再说一遍吗", "再说一次", "怎么选", "选哪个", "什么", "啥",
        "help", "/help",
    ),
    Command.SKIP: (
        "跳过", "下一题", "不想回答", "不想答", "不回答", "不答了", "不想答了", "略过", "skip", "/skip", "pass", "next",
    ),
    Command.RESTART: (
        "重新开始", "重来", "从头开始", "重新来", "重新填", "重填", "restart", "/restart", "start over",
    ),
}  # fmt: skip
_COMMANDS: dict[str, Command] = {word: command for command, words in _WORDS.items() for word in words}
# Around a command, adding nothing: "我要退订", "请停止发送", "别再发了，谢谢", "停止吧",
# "你好，退订", "好的，退订。谢谢", "麻烦退订一下", "烦死了别发了".
_ASKING = re.compile(
    r"^(?:(?:你好|您好|谢谢你|谢谢您|谢谢|不好意思|抱歉|对不起|喂|嗯+|哦+|好的|好|那个|烦死了|烦不烦|真烦|我说了)"
    r"[,，。.!！\s]*)*(?:我要|我想|我|请|麻烦|帮我|麻烦你|麻烦您|给我)*"
)
_AFTER = re.compile(
    r"(?:[,，。.!！\s]*(?:谢谢|谢谢你|谢谢您|不好意思|抱歉|好吗|行吗|可以吗|一下|[了吧啊呀哦啦嘛]))+$"
)
# "不要发了", "以后别再给我发短信了", "不想再收到这些消息": asking us to stop writing.
_STOP_SENDING = re.compile(
    r"(?:以后)?(?:不要|别)再?(?:给我)?发(?:送)?(?:消息|信息|短信|微信)?(?:给我)?"
    r"|(?:我)?不想再?收到(?:这些|你们的)?(?:消息|信息|短信)?"
    r"|(?:不要|别|不用)再?(?:回访|问我|打扰我|联系我)(?:了)?"
)
_DONE_BEFORE = frozenset({"退出了", "已经退出了", "停止了", "已经停止了"})
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
        command = _bare_command(normalized)
    return command


def _bare_command(normalized: str) -> Command | None:
    """A command wrapped in courtesy ("好的，退订。谢谢"), repeated ("退订退订") or said
    as a request to stop sending; the words around it must add nothing."""
    bare = _AFTER.sub("", _ASKING.sub("", normalized)).strip(" ,，。.!！")
    if not bare or normalized in _DONE_BEFORE:
        return None  # "退出了": they have left (the volunteers), not a request to stop
    command = _COMMANDS.get(bare) or _COMMANDS.get(bare + "了")
    if command is None:
        half = len(bare) // 2
        if len(bare) % 2 == 0 and bare[:half] == bare[half:]:
            command = _COMMANDS.get(bare[:half])  # "退订退订"
    if command is None and _STOP_SENDING.fullmatch(bare.rstrip("了")):
        command = Command.STOP
    return command
