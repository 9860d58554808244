"""What people say beside the answer: "not now", or only a greeting.

- "以后再说", "现在不方便", "在忙，晚点再答", "not now": someone asked to take a survey, or in
  the middle of one, who says they are busy has not declined and has not given an
  unreadable answer: they are told they can reply whenever it suits them, and nothing
  else happens (no "sorry, I did not understand", no miss counted).
- "你好", "在吗", "谢谢": a greeting or thanks alone is no attempt at the question: it is
  asked again, and no miss is counted, so three hellos do not close an invitation.
- "你们是谁", "什么事", "是骗子吗": asked who is writing, in answer to the invitation: its
  greeting, which says who, and the question again, with no "sorry, I did not understand".

- "收到", "辛苦了", "[玫瑰]": an acknowledgement, wishes or a WeChat face after the survey
  ended: nothing for staff (bot/services/runtime.py turns other words into a ticket).

The engine lets three such replies per question go uncounted (flows/engine.py, `aside`);
after that they count as tries, so nothing loops for ever.
"""

from __future__ import annotations

import re

from flows.answers.lexicon import COURTESIES
from flows.normalize import normalize

_BARE = frozenset(
    """以后再说 以后吧 以后 下次吧 下次 下次再说 改天 改天吧 改天再说 回头再说 回头吧 过几天 过两天 明天再说 明天吧
    晚点 晚点吧 晚点再说 晚一点 晚些 晚些时候 稍后 稍后再说 等会 等会儿 等一会 等一会儿 等一下 等下 待会 待会儿
    待会再说 一会儿 一会再说 不方便 现在不方便 暂时不方便 没空 现在没空 暂时没空 没时间 现在没时间 在忙 正忙 正在忙
    忙 有点忙 太忙了 很忙 在开车 在上班 在上课 在开会 later busy""".split()
) | {"not now", "maybe later", "later please", "no time now", "call me later", "im busy", "i'm busy"}
# "晚点再答", "有空再说", "方便的时候再填": a time to come back to the survey ("下次再来看看我们"
# is an opinion, not this).
_COME_BACK = re.compile(
    r"(?:晚点|晚些|以后|改天|下次|回头|过几天|过两天|明天|等会儿?|待会儿?|一会儿?|有空(?:了|的时候)?"
    r"|方便(?:了|的时候)?|忙完(?:了)?)再(?:说|答|填|写|回|聊|弄|做|联系|发|看)"
)
_EDGES = "了的啊呀吧呢哦啦嘛喔噢哈,.!?。，！？~ "
# "你好，请问你们是谁": the courtesy around a question, at either end.
_COURTESY_EDGES = re.compile(r"^(?:(?:你好|您好|请问|喂|哎|嗯)[,，\s]*)+|[,，\s]*(?:谢谢|请问)$")
_LEADING = re.compile(r"^(?:嗯|哦|啊|唉|哎|我|我们|现在|这会儿?|目前)+")


def says_later(text: str) -> bool:
    """Whether the whole reply asks to be left until later."""
    normalized = normalize(text)
    if not normalized or len(normalized) > 40:  # a longer reply is an answer
        return False
    if _COME_BACK.search(normalized) or normalized.strip(_EDGES) in _BARE:
        return True
    clauses = [c.strip(_EDGES) for c in re.split(r"[,，。.!！;；\s]+", normalized)]
    clauses = [c for c in clauses if c and c not in COURTESIES]
    return bool(clauses) and all(_LEADING.sub("", c) in _BARE or c in _BARE for c in clauses)


_GREETINGS = frozenset(
    """在吗 在不在 在么 有人吗 有人在吗 喂 哈喽 哈罗 早 早上好 上午好 中午好 下午好 晚上好 您好啊 你好啊 你们好
    大家好 哈哈 呵呵 嘿 hey""".split()
) | {"good morning", "good afternoon", "good evening"}


def only_greets(text: str) -> bool:
    """Whether the reply is only a greeting or thanks ("你好", "在吗？", "谢谢你们", "您好！")."""
    normalized = normalize(text)
    if not normalized or len(normalized) > 20:
        return False
    clauses = [c.strip(_EDGES) for c in re.split(r"[,，。.!！?？;；\s]+", normalized)]
    clauses = [c for c in clauses if c]
    return bool(clauses) and all(
        c in COURTESIES or c in _GREETINGS or c.rstrip("们") in COURTESIES for c in clauses
    )


_WHO = frozenset(
    """你是谁 你们是谁 您是谁 谁 谁啊 谁呀 哪位 您是哪位 你是哪位 你们是哪位 你们是哪里的 你是哪里的 哪里的
    哪个单位 哪个单位的 你们是什么单位 干嘛的 干什么的 做什么的 你们是干什么的 什么事 啥事 有什么事 有啥事
    找我什么事 找我有什么事 怎么回事 是骗子吗 是骗子 你们是骗子 骗子吧 骗子 真的假的 是真的吗 是不是骗子
    你们是真的红十字会吗 红十字会 红十字会吗""".split()
) | {"who are you", "who is this", "who's this", "what is this", "is this a scam"}


def asks_who(text: str) -> bool:
    """Whether the reply only asks who is writing or why ("你们是谁？", "有什么事吗", "是骗子吗")."""
    normalized = normalize(text)
    if not normalized or len(normalized) > 20:
        return False
    bare = _COURTESY_EDGES.sub("", normalized).strip(_EDGES + "吗么")
    return bare in _WHO or bare.rstrip("吗么") in _WHO


_PLEASANTRIES = frozenset(
    """收到 收到了 知道 知道了 明白 明白了 了解 了解了 好滴 好哒 好嘞 嗯呢 行了 好了 ok了 再见 拜拜 拜 88 晚安 早安
    辛苦 辛苦了 辛苦你们了 你们辛苦了 不客气 没事 没事了 工作顺利 祝你们工作顺利 身体健康 祝你们身体健康 祝您身体健康
    新年快乐 节日快乐 春节快乐 中秋快乐 感谢红十字会 谢谢红十字会 感谢你们 谢谢你们 感谢党和政府
    好的 好吧 好 嗯 嗯嗯 哦 哦哦 行 可以 对 是的 ok okay""".split()
) | {"bye", "good night", "see you"}
# WeChat's own faces arrive as text: "[玫瑰]", "[握手]", "[强]"; emoji and punctuation say nothing either.
_WECHAT_FACE = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]")


def only_pleasantries(text: str) -> bool:
    """Whether the reply only acknowledges, thanks, wishes well or sends a face ("收到",
    "辛苦了，祝你们工作顺利", "[玫瑰][玫瑰]"): nothing for staff to act on."""
    if only_greets(text):
        return True
    normalized = _WECHAT_FACE.sub(" ", normalize(text))
    if len(normalized) > 40:
        return False
    rest = "".join(ch for ch in normalized if ch.isalnum() or ch == " ")
    for word in _PLEASANT_WORDS:  # longest first: "谢谢你们辛苦了" is two of them
        rest = rest.replace(word, " ")
    return not rest.replace(" ", "").strip(_EDGES)


_PLEASANT_WORDS = sorted(_PLEASANTRIES | COURTESIES | _GREETINGS, key=len, reverse=True)
