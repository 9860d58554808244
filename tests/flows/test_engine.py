"""Conversations with the engine, as a respondent would have them, on a fixed clock.

Most behaviour is a table of cases: what the respondent sends (in Chinese, as older people
type on phones), and the answers, step, lifecycle, events and reply expected after the last
message. Every conversation also checks, after every message, that the state survives a JSON
round trip and that `resume` left the state it was given untouched.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transitions import MachineError

from flows import engine
from flows.commands import detect_command
from flows.engine import UNSUPPORTED_RAW, EngineConfig, Input
from flows.events import (
    AnswerRecorded,
    ConsentDeclined,
    ConsentGiven,
    EscalationRequested,
    Event,
    MessageSent,
    OptedOut,
    SessionCompleted,
    SessionExpired,
    SessionRestarted,
    Step,
)
from flows.loader import default_flow_paths, load_flow
from flows.machine import CONSENT, DECLINED, END, LIFECYCLE_STATES
from flows.schema import Flow

T0 = datetime(2026, 6, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_FLOWS: dict[str, Flow] = {p.stem: load_flow(p) for p in default_flow_paths()}
EVERY_TYPE = load_flow(FIXTURES / "every_type.yaml")
FLOWS: dict[str, Flow] = {**DEFAULT_FLOWS, EVERY_TYPE.id: EVERY_TYPE}


# -- talking to the engine ----------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """One respondent message, `gap` after the previous one."""

    text: str | None
    gap: timedelta = MINUTE
    kind: str = "text"


IMAGE = Say(None, kind="unsupported")  # a photo, voice message or sticker


def later(text: str, gap: timedelta) -> Say:
    return Say(text, gap)


@dataclass
class Talk:
    flow: Flow
    state: dict[str, Any]
    now: datetime
    steps: list[Step] = field(default_factory=list)

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def events(self) -> list[Event]:
        return [e for s in self.steps for e in s.events]

    def say(self, message: str | Say, config: EngineConfig = engine.DEFAULT_CONFIG) -> Step:
        said = message if isinstance(message, Say) else Say(message)
        self.now += said.gap
        before = copy.deepcopy(self.state)
        step = engine.resume(self.flow, self.state, Input(said.text, said.kind), self.now, config)  # type: ignore[arg-type]
        assert self.state == before, "resume changed the state it was given"
        assert json.loads(json.dumps(step.state)) == step.state, "state is not plain JSON"
        self.state = step.state
        self.steps.append(step)
        return step


def talk(flow: Flow | str, said: list[str | Say] | tuple[str | Say, ...] = (), lang: str = "zh") -> Talk:
    flow = FLOWS[flow] if isinstance(flow, str) else flow
    first = engine.start(flow, {"lang": lang, "source": "test"}, T0)
    assert json.loads(json.dumps(first.state)) == first.state
    conversation = Talk(flow, first.state, T0, [first])
    for message in said:
        conversation.say(message)
    return conversation


def not_messages(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, MessageSent)]


def reply_text(step: Step) -> str:
    return "\n".join(m.text for m in step.messages)


# Ways into the fixture flow (tests/flows/fixtures/every_type.yaml).
TO_SERVICE = ["好的"]
TO_WHY = [*TO_SERVICE, "一般"]
TO_NEEDS = [*TO_SERVICE, "满意"]
TO_RECOMMEND = [*TO_NEEDS, "1"]
TO_HELPED = [*TO_RECOMMEND, "9"]
TO_HOUSEHOLD = [*TO_HELPED, "是"]
TO_OPINION = [*TO_HOUSEHOLD, "3"]
TO_CALLBACK = [*TO_HELPED, "没有", "3"]

AT_NEEDS = {"service": "satisfied"}
AT_RECOMMEND = {**AT_NEEDS, "needs": ["counselling"]}
AT_HELPED = {**AT_RECOMMEND, "recommend": 9}
AT_HOUSEHOLD = {**AT_HELPED, "helped": "yes"}
AT_OPINION = {**AT_HOUSEHOLD, "household": 3}


def recorded(qid: str, value: Any, raw: str, *, parsed: bool = True, skipped: bool = False) -> AnswerRecorded:
    return AnswerRecorded(qid, value, raw, parsed=parsed, skipped=skipped)


# -- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    said: list[str | Say]
    answers: dict[str, Any] | None = None  # the whole answers dict after the last message
    step: str | None = None
    lifecycle: str = "active"
    events: list[Event] | None = None  # the last message's events, messages left out
    kinds: tuple[str, ...] | None = None  # the kinds of the messages sent in reply
    reply: tuple[str, ...] = ()  # words the reply must contain
    flow: str = "every_type"


CASES: list[Case] = []


def case(*args: Any, **kwargs: Any) -> None:
    CASES.append(Case(*args, **kwargs))


# Consent, in the words people use.
for word in ["好的", "好", "嗯嗯", "可以", "1", "①", "１", "好的呀", "愿意", "没问题", "是的。", "行", "👍", "好的，谢谢"]:
    case(f"consent-yes-{word}", [word], {}, "service", "active", [ConsentGiven()], ("question",), ("您对我们的服务满意吗？",))
for word in ["不用了", "2", "不愿意", "算了", "不要", "不了，谢谢"]:
    case(f"consent-no-{word}", [word], {}, DECLINED, "declined", [ConsentDeclined()], ("closing",), ("好的，谢谢您！",))
# Busy is not a no: the invitation stays open, no miss is counted, nothing is asked again.
for word in ["没空", "现在不方便", "在忙，晚点再说", "以后再说吧", "not now"]:
    case(f"consent-later-{word}", [word], {}, CONSENT, "invited", [], ("notice",), ("您方便的时候，回复“1”就可以开始",))
case("consent-later-then-yes", ["没空", "好的"], {}, "service", "active", [ConsentGiven()])
# "你问吧" is a yes; the button copied by its number or words too.
for word in ["你问吧", "问吧", "说吧", "好的，请问吧", "一", "第一个", "1号", "选1", "1.好的", "1️⃣", "[OK]"]:
    case(f"consent-yes-as-said-{word}", [word], {}, "service", "active", [ConsentGiven()], ("question",))
case("consent-no-by-number", ["第二个"], {}, DECLINED, "declined", [ConsentDeclined()])
case("consent-later-is-no-miss", ["你们是谁", "什么", "现在不方便"], {}, CONSENT, "invited", [], ("notice",))
case("consent-unclear", ["今天天气不错"], {}, CONSENT, "invited", [], ("hint", "intro"), ("抱歉，没能看懂您的回答。", "您愿意回答几个问题吗？"))
case("consent-unclear-then-yes", ["你们是谁", "好的"], {}, "service", "active", [ConsentGiven()])
case(
    "consent-unclear-three-times-declines",
    ["今天天气不错", "我在看电视", "嗯？啥"],
    {},
    DECLINED,
    "declined",
    [ConsentDeclined()],
    ("closing",),
)
# Asked who is writing: the greeting (who we are) and the question again, nothing counted.
for word in ["你们是谁？", "你好，请问你们是谁", "有什么事吗", "是骗子吗", "who are you"]:
    case(f"consent-who-{word}", [word], {}, CONSENT, "invited", [], ("intro",), ("您愿意回答几个问题吗？",))
case("consent-who-is-no-miss", ["今天天气不错", "什么", "你们是谁", "好的"], {}, "service", "active", [ConsentGiven()])
case("consent-help", ["帮助"], {}, CONSENT, "invited", [], ("help", "intro"))
# A greeting alone is no answer and no miss: four hellos still leave the invitation open.
case("consent-greetings-are-no-miss", ["你好", "在吗？", "谢谢"], {}, CONSENT, "invited", [], ("intro",))
# … three of them per question: then they count, so nothing loops for ever.
case("consent-asides-are-bounded", ["你好", "没空", "你们是谁", "你好", "你好", "你好"], {}, DECLINED, "declined",
     [ConsentDeclined()], ("closing",))  # fmt: skip

# A rating: words, numbers in every script, synonyms, sentences around the label.
for word, code in [
    ("非常满意", "very_satisfied"), ("1", "very_satisfied"), ("①", "very_satisfied"),
    ("第一个", "very_satisfied"), ("满意", "satisfied"), ("2", "satisfied"), ("挺好", "satisfied"),
    ("我觉得挺满意的", "satisfied"), ("满意吧", "satisfied"), ("２", "satisfied"),
]:  # fmt: skip
    case(f"rating-{word}", [*TO_SERVICE, word], {"service": code}, "needs", events=[recorded("service", code, word)], kinds=("question",))
# Branching: only the unhappy answers get the follow-up; the two worst escalate.
for word, code in [("一般", "average"), ("3", "average"), ("③", "average")]:
    case(f"branch-{word}", [*TO_SERVICE, word], {"service": code}, "why", events=[recorded("service", code, word)], reply=("哪里让您不满意？",))
for word, code in [("不太满意", "not_satisfied"), ("4", "not_satisfied"), ("不好", "poor"), ("５", "poor"), ("第五个", "poor")]:
    case(
        f"branch-escalate-{word}", [*TO_SERVICE, word], {"service": code}, "why",
        events=[recorded("service", code, word), EscalationRequested("service", f"option:{code}", word, "service", "high")],
    )  # fmt: skip

# Free text, kept as written; on_text escalates any answer.
case(
    "text-escalates-on-text", [*TO_WHY, "等了太久了"], {"service": "average", "why": "等了太久了"}, "needs",
    events=[recorded("why", "等了太久了", "等了太久了"), EscalationRequested("why", "text", "等了太久了", "complaints", "normal")],
)  # fmt: skip
case("text-trimmed-raw-kept", [*TO_WHY, "  等太久  "], {"service": "average", "why": "等太久"}, "needs",
     events=[recorded("why", "等太久", "  等太久  "), EscalationRequested("why", "text", "  等太久  ", "complaints", "normal")])  # fmt: skip
case("text-too-short", [*TO_WHY, "差"], {"service": "average"}, "why", events=[], kinds=("hint", "question"), reply=("请多写几个字（至少 2 个字）。",))
case("text-too-long", [*TO_WHY, "太" * 51], {"service": "average"}, "why", events=[], kinds=("hint", "question"), reply=("回答太长了，请控制在 50 个字以内。",))
case("text-at-the-limit", [*TO_WHY, "太" * 50], {"service": "average", "why": "太" * 50}, "needs")

# Multiple choice.
for word in ["1、3", "1,3", "1，3", "①③", "一、三", "1 3", "13", "心理疏导和关怀陪伴", "第一个和第三个"]:
    case(f"multi-{word}", [*TO_NEEDS, word], {**AT_NEEDS, "needs": ["counselling", "company"]}, "recommend",
         events=[recorded("needs", ["counselling", "company"], word)])  # fmt: skip
case("multi-one", [*TO_NEEDS, "政策咨询"], {**AT_NEEDS, "needs": ["policy"]}, "recommend")
case("multi-too-many", [*TO_NEEDS, "1、2、3"], AT_NEEDS, "needs", events=[], kinds=("hint", "question"), reply=("最多可以选 2 项。",))

# NPS: 0–10; at or below 6 escalates.
for word, value in [("8", 8), ("八", 8), ("10分", 10), ("满分", 10), ("7分吧", 7), ("九分", 9)]:
    case(f"nps-{word}", [*TO_RECOMMEND, word], {**AT_RECOMMEND, "recommend": value}, "helped", events=[recorded("recommend", value, word)])
for word, value in [("6", 6), ("０", 0), ("三", 3)]:
    case(f"nps-escalates-{word}", [*TO_RECOMMEND, word], {**AT_RECOMMEND, "recommend": value}, "helped",
         events=[recorded("recommend", value, word), EscalationRequested("recommend", "value<=6", word, "service", "normal")])  # fmt: skip
case("nps-out-of-range", [*TO_RECOMMEND, "11"], AT_RECOMMEND, "recommend", events=[], kinds=("hint", "question"), reply=("数字需要在 0 到 10 之间。",))
case("nps-words", [*TO_RECOMMEND, "很愿意"], AT_RECOMMEND, "recommend", events=[], kinds=("hint", "question"), reply=("抱歉，没能看懂您的回答。",))

# Yes / no; "no" escalates here.
for word in ["是", "是的", "对", "嗯", "对的", "1"]:
    case(f"yes-{word}", [*TO_HELPED, word], {**AT_HELPED, "helped": "yes"}, "household", events=[recorded("helped", "yes", word)])
for word in ["没有", "否", "不是", "2"]:
    case(f"no-{word}", [*TO_HELPED, word], {**AT_HELPED, "helped": "no"}, "household",
         events=[recorded("helped", "no", word), EscalationRequested("helped", "option:no", word, "service", "normal")])  # fmt: skip

# A number with bounds and a unit; an info message passes by on its own.
for word, value in [("3", 3), ("三", 3), ("3人", 3), ("三个人", 3), ("１２", 12), ("十", 10), ("20", 20), ("1", 1)]:
    case(f"number-{word}", [*TO_HOUSEHOLD, word], {**AT_HOUSEHOLD, "household": value}, "opinion",
         events=[recorded("household", value, word)], kinds=("info", "question"), reply=("最后一题了。", "您还有什么意见或建议？"))  # fmt: skip
for word in ["0", "二十一", "21"]:
    case(f"number-out-of-range-{word}", [*TO_HOUSEHOLD, word], AT_HOUSEHOLD, "household", events=[], kinds=("hint", "question"),
         reply=("数字需要在 1 到 20 之间。",))  # fmt: skip
for word in ["很多", "3.5"]:
    case(f"number-not-understood-{word}", [*TO_HOUSEHOLD, word], AT_HOUSEHOLD, "household", events=[], kinds=("hint", "question"),
         reply=("抱歉，没能看懂您的回答。",))  # fmt: skip

# Branching on earlier answers (not the one just given): a "no" or a low score gets the call-back.
case("branch-earlier-no", [*TO_HELPED, "没有", "3"], {**AT_HELPED, "helped": "no", "household": 3}, "callback", reply=("需要工作人员给您回电话吗？",))
case("branch-earlier-low-score", [*TO_RECOMMEND, "5", "是", "3"], {**AT_RECOMMEND, "recommend": 5, "helped": "yes", "household": 3}, "callback")
case("branch-earlier-happy", [*TO_HOUSEHOLD, "3"], AT_OPINION, "opinion")

# An optional question may be skipped; a required one may not.
AT_CALLBACK = {**AT_HELPED, "helped": "no", "household": 3}
case("skip-optional", [*TO_CALLBACK, "跳过"], {**AT_CALLBACK, "callback": None}, "opinion",
     events=[recorded("callback", None, "跳过", skipped=True)], kinds=("info", "question"))  # fmt: skip
case("skip-optional-other-words", [*TO_CALLBACK, "不想回答"], {**AT_CALLBACK, "callback": None}, "opinion")
case("optional-answered", [*TO_CALLBACK, "不用"], {**AT_CALLBACK, "callback": "no"}, "opinion")
case(
    "skip-required",
    [*TO_NEEDS, "跳过"],
    AT_NEEDS,
    "needs",
    events=[],
    kinds=("hint", "question"),
    reply=("这一题需要您回答一下，谢谢。",),
)
# … but a refusal counts as a try: the third leaves it unanswered, and the survey goes on.
case("skip-required-three-times-moves-on", [*TO_NEEDS, "跳过", "不想回答", "不想答"], {**AT_NEEDS, "needs": None},
     "recommend", events=[recorded("needs", None, "跳过\n不想回答\n不想答", skipped=True)], kinds=("hint", "question"),
     reply=("没关系，我们先看下一题。",))  # fmt: skip
case("skip-at-the-end-completes", [*TO_OPINION, "跳过"], {**AT_OPINION, "opinion": None}, END, "completed",
     events=[recorded("opinion", None, "跳过", skipped=True), SessionCompleted()], kinds=("closing",))  # fmt: skip

# Completing: the closing words and SessionCompleted; keywords escalate.
case("complete", [*TO_OPINION, "都挺好的"], {**AT_OPINION, "opinion": "都挺好的"}, END, "completed",
     events=[recorded("opinion", "都挺好的", "都挺好的"), SessionCompleted()], kinds=("closing",), reply=("问卷完成了，谢谢您！",))  # fmt: skip
case("complete-keyword-escalates", [*TO_OPINION, "我要投诉你们"], {**AT_OPINION, "opinion": "我要投诉你们"}, END, "completed",
     events=[recorded("opinion", "我要投诉你们", "我要投诉你们"),
             EscalationRequested("opinion", "keyword:投诉", "我要投诉你们", "complaints", "urgent"), SessionCompleted()])  # fmt: skip
case("after-completion", [*TO_OPINION, "都挺好的", "还有一件事"], {**AT_OPINION, "opinion": "都挺好的"}, END, "completed",
     events=[], kinds=("notice",), reply=("本次回访已经结束",))  # fmt: skip

# HELP says how to answer and asks again; it is not a miss.
for word in ["帮助", "?", "？", "怎么回答", "看不懂"]:
    case(f"help-{word}", [*TO_NEEDS, word], AT_NEEDS, "needs", events=[], kinds=("help", "question"), reply=("回复选项前的数字即可",))

# RESTART clears the answers and goes back to the first question.
for word in ["重新开始", "重来", "从头开始"]:
    case(f"restart-{word}", [*TO_HOUSEHOLD, word], {}, "service", events=[SessionRestarted()], kinds=("notice", "question"),
         reply=("好的，我们从头开始。", "您对我们的服务满意吗？"))  # fmt: skip
case("restart-then-answer", [*TO_HOUSEHOLD, "重新开始", "非常满意"], {"service": "very_satisfied"}, "needs")
case("restart-at-consent", ["重新开始"], {}, CONSENT, "invited", [SessionRestarted()], ("notice", "intro"))

# STOP asks first; only a clear yes opts out.
for word in ["退订", "TD", "停止", "不要再发了"]:
    case(f"stop-asks-{word}", [*TO_NEEDS, word], AT_NEEDS, "needs", events=[], kinds=("confirm",), reply=("您确定要退订吗？",))
for word in ["1", "是", "确定", "好的", "确定退订", "退订"]:
    case(f"stop-confirmed-{word}", [*TO_NEEDS, "退订", word], AT_NEEDS, "needs", "opted_out", [OptedOut()], ("notice",),
         ("已为您退订",))  # fmt: skip
for word in ["2", "继续答题", "不", "满意", "1、3"]:
    # The reply to "are you sure?" is never taken as an answer to the question.
    case(f"stop-cancelled-{word}", [*TO_NEEDS, "退订", word], AT_NEEDS, "needs", "active", [], ("notice", "question"),
         ("好的，我们继续。", "您还需要哪些帮助？"))  # fmt: skip
case("stop-at-consent", ["退订", "是"], {}, CONSENT, "opted_out", [OptedOut()])
# Confirmed as people say it: yes and 退订 together, the first button by number or words.
for word in [
    "对，退订",
    "是，别发了",
    "嗯嗯退订",
    "退吧",
    "退订。谢谢",
    "一",
    "第一个",
    "选1",
    "1号",
    "1.确定退订",
    "[OK]",
]:
    case(f"stop-confirmed-as-said-{word}", [*TO_NEEDS, "退订", word], AT_NEEDS, "needs", "opted_out", [OptedOut()])
for word in ["你好，退订", "好的，退订", "不要发了", "我要退出"]:
    case(f"stop-asks-as-said-{word}", [*TO_NEEDS, word], AT_NEEDS, "needs", events=[], kinds=("confirm",))
case(
    "stop-cancelled-then-answer",
    [*TO_NEEDS, "退订", "2", "1、3"],
    {**AT_NEEDS, "needs": ["counselling", "company"]},
    "recommend",
)

# After 72 hours of silence: welcome back; "1" carries on where they were, "2" starts again.
BACK = later("1", 73 * HOUR)
case("welcome-back", [*TO_NEEDS, BACK], AT_NEEDS, "needs", events=[], kinds=("confirm",), reply=("欢迎回来！",))
for word in ["1", "继续", "接着上次继续", "好的"]:
    case(f"welcome-back-continue-{word}", [*TO_NEEDS, BACK, word], AT_NEEDS, "needs", events=[], kinds=("question",),
         reply=("您还需要哪些帮助？",))  # fmt: skip
for word in ["2", "重新开始"]:
    case(
        f"welcome-back-restart-{word}",
        [*TO_NEEDS, BACK, word],
        {},
        "service",
        events=[SessionRestarted()],
        kinds=("notice", "question"),
    )
# A no to "carry on?" is not now: every answer kept, the question waits (at most three times)…
for word in ["不了", "算了", "没空", "不用了"]:
    case(f"welcome-back-not-now-{word}", [*TO_NEEDS, BACK, word], AT_NEEDS, "needs", events=[], kinds=("notice",),
         reply=("您方便的时候直接回复",))  # fmt: skip
case("welcome-back-not-now-is-bounded", [*TO_NEEDS, BACK, "不了", "不了", "算了", "不了"], AT_NEEDS, "needs",
     kinds=("hint", "question"))  # fmt: skip
# … unless the no also answers the question: "都不需要" to "还需要哪些帮助？" is its "none".
case("welcome-back-no-that-answers", [*TO_NEEDS, BACK, "都不需要"], {**AT_NEEDS, "needs": ["nothing"]}, "recommend",
     events=[recorded("needs", ["nothing"], "都不需要")])  # fmt: skip
# A no that picks an option answers it at once ("不愿意", "还没有"), not "not now".
case("welcome-back-no-picks-an-option", [*TO_HELPED, later("没有", 4 * DAY), "没有"], {**AT_HELPED, "helped": "no"},
     "household", events=[recorded("helped", "no", "没有"),
                          EscalationRequested("helped", "option:no", "没有", "service", "normal")])  # fmt: skip
# A question back after a long silence is not an answer to the opinion question.
for word in ["有事吗", "怎么了", "什么事"]:
    case(f"long-silence-asked-back-{word}", [*TO_OPINION, later(word, 4 * DAY)], AT_OPINION, "opinion", events=[],
         kinds=("confirm",))  # fmt: skip
case("welcome-back-yes-is-not-restart", [*TO_NEEDS, BACK, "开始吧"], AT_NEEDS, "needs", events=[], kinds=("question",))
# Anything else is their answer to the question they were at.
case("welcome-back-answered", [*TO_NEEDS, BACK, "1、3"], {**AT_NEEDS, "needs": ["counselling", "company"]}, "recommend",
     events=[recorded("needs", ["counselling", "company"], "1、3")])  # fmt: skip
# A free-text question answered after a long silence: kept at once, nothing asked first.
case("long-silence-then-opinion", [*TO_OPINION, later("工作人员态度太差了", 4 * DAY)], {**AT_OPINION, "opinion": "工作人员态度太差了"},
     END, "completed")  # fmt: skip
case("long-silence-then-no-opinion", [*TO_OPINION, later("没有", 4 * DAY), "没有"], {**AT_OPINION, "opinion": "没有"},
     END, "completed")  # fmt: skip
case("long-silence-then-hello-at-opinion", [*TO_OPINION, later("你好", 4 * DAY)], AT_OPINION, "opinion", events=[],
     kinds=("confirm",))  # fmt: skip
case("welcome-back-continue-then-answer", [*TO_NEEDS, BACK, "1", "2"], {**AT_NEEDS, "needs": ["policy"]}, "recommend")
case("welcome-back-stop", [*TO_NEEDS, BACK, "退订", "是"], AT_NEEDS, "needs", "opted_out", [OptedOut()])
case("exactly-72-hours-is-not-away", [*TO_NEEDS, later("1", 72 * HOUR)], {**AT_NEEDS, "needs": ["counselling"]}, "recommend")
case("invitation-answered-late", [later("好的", 10 * DAY)], {}, "service", "active", [ConsentGiven()])

# After 30 days of silence the session is over.
case("expired", [*TO_NEEDS, later("1", 30 * DAY + MINUTE)], AT_NEEDS, "needs", "expired", [SessionExpired()], ("notice",),
     ("上次的问卷已经过期",))  # fmt: skip
case("exactly-30-days-is-welcome-back", [*TO_NEEDS, later("1", 30 * DAY)], AT_NEEDS, "needs", "active", [], ("confirm",))
case("invitation-expired", [later("好的", 31 * DAY)], {}, CONSENT, "expired", [SessionExpired()])
case("after-expiry", [*TO_NEEDS, later("1", 31 * DAY), "1"], AT_NEEDS, "needs", "expired", [], ("notice",))
case("stop-after-a-long-silence-still-opts-out", [*TO_NEEDS, later("退订", 31 * DAY), "是"], lifecycle="opted_out", events=[OptedOut()])

# Three answers not understood: keep every text, record it unparsed and go on.
case("three-misses", [*TO_HOUSEHOLD, "很多", "不知道", "好多人"], {**AT_HOUSEHOLD, "household": None}, "opinion",
     events=[recorded("household", None, "很多\n不知道\n好多人", parsed=False)], kinds=("hint", "info", "question"),
     reply=("没关系，我们先看下一题。",))  # fmt: skip
case("two-misses-then-understood", [*TO_HOUSEHOLD, "很多", "不知道", "3"], {**AT_HOUSEHOLD, "household": 3}, "opinion",
     events=[recorded("household", 3, "很多\n不知道\n3")])  # fmt: skip
case("help-is-not-a-miss", [*TO_HOUSEHOLD, "很多", "帮助", "不知道", "帮助", "3"], {**AT_HOUSEHOLD, "household": 3}, "opinion",
     events=[recorded("household", 3, "很多\n不知道\n3")])  # fmt: skip
case("later-mid-survey", [*TO_NEEDS, "在忙，晚点再答"], AT_NEEDS, "needs", events=[], kinds=("notice",),
     reply=("您方便的时候直接回复",))  # fmt: skip
case("later-mid-survey-is-no-miss", [*TO_NEEDS, "嗯嗯嗯", "随便", "晚点再说", "1"], AT_RECOMMEND, "recommend",
     events=[recorded("needs", ["counselling"], "嗯嗯嗯\n随便\n1")])  # fmt: skip
case("greetings-mid-survey-are-no-miss", [*TO_NEEDS, "你好", "在吗", "你好", "1"], AT_RECOMMEND, "recommend",
     events=[recorded("needs", ["counselling"], "1")])  # fmt: skip
case("asides-mid-survey-are-bounded", [*TO_NEEDS, "你好", "晚点再说", "你好", "你好", "你好", "你好"],
     {**AT_NEEDS, "needs": None}, "recommend", events=[recorded("needs", None, "你好\n你好\n你好", parsed=False)])  # fmt: skip
case("misses-start-again-per-question", [*TO_NEEDS, "嗯嗯嗯", "随便", "1", "很好", "不知道"], AT_RECOMMEND, "recommend", events=[])
case("misses-then-skip", [*TO_CALLBACK, "随便", "跳过"], {**AT_CALLBACK, "callback": None}, "opinion",
     events=[recorded("callback", None, "随便\n跳过", skipped=True)])  # fmt: skip
case("misses-forgotten-on-restart", [*TO_HOUSEHOLD, "很多", "重新开始", "满意", "1", "9", "是", "不知道", "好多", "3"],
     {**AT_HOUSEHOLD, "household": 3}, "opinion", events=[recorded("household", 3, "不知道\n好多\n3")])  # fmt: skip

# Photos, voice, stickers: a miss, with a hint that only text is read.
case("unsupported", [*TO_NEEDS, IMAGE], AT_NEEDS, "needs", events=[], kinds=("hint", "question"), reply=("抱歉，暂时只能识别文字",))
case("unsupported-three-times", [*TO_NEEDS, IMAGE, IMAGE, IMAGE], {**AT_NEEDS, "needs": None}, "recommend",
     events=[recorded("needs", None, "\n".join([UNSUPPORTED_RAW] * 3), parsed=False)])  # fmt: skip
case("unsupported-among-misses", [*TO_NEEDS, "嗯嗯嗯", IMAGE, "随便"], {**AT_NEEDS, "needs": None}, "recommend",
     events=[recorded("needs", None, f"嗯嗯嗯\n{UNSUPPORTED_RAW}\n随便", parsed=False)])  # fmt: skip
case("unsupported-at-consent", [IMAGE], {}, CONSENT, "invited", [], ("hint", "intro"), ("抱歉，暂时只能识别文字",))

# The real default flows: only the unhappy answers lead to the follow-up question.
for flow_id, _first, happy, unhappy, follow_up, otherwise in [
    ("humanitarian_aid", "overall", ["非常好", "好", "1", "2"], ["一般", "不好", "3", "4"], "improve", "main_problem"),
    ("volunteer", "overall", ["非常好", "好"], ["一般", "不好"], "improve", "main_problem"),
    ("membership", "overall", ["非常好", "好"], ["一般", "不好"], "improve", "how_members_work"),
    ("three_donations", "overall", ["非常好", "好"], ["一般", "不好"], "improve", "willingness"),
    ("grassroots", "work_effect", ["非常好", "好"], ["一般", "不好"], "improve", "main_problem"),
    ("donation", "satisfaction", ["非常满意", "满意"], ["一般", "不满意"], "unhappy_aspects", "tax_policy"),
    ("first_aid_post", "operation", ["运行良好"], ["运行一般"], "improve", "main_difficulty"),
]:
    for word in happy:
        case(f"{flow_id}-happy-{word}", ["好的", word], step=otherwise, flow=flow_id)
    for word in unhappy:
        case(f"{flow_id}-unhappy-{word}", ["好的", word], step=follow_up, flow=flow_id)
for aspects, expected in [
    (["满意", "满意", "满意", "满意"], "opinion"),
    (["非常满意", "满意", "非常满意", "满意"], "opinion"),
    (["不太满意", "满意", "满意", "满意"], "unhappy_part"),
    (["满意", "满意", "满意", "不太满意"], "unhappy_part"),
    (["1", "3", "1", "1"], "unhappy_part"),
]:
    case(f"first_aid_training-{'-'.join(aspects)}", ["好的", *aspects], step=expected, flow="first_aid_training")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_conversation(c: Case) -> None:
    conversation = talk(c.flow, c.said)
    state, last = conversation.state, conversation.last
    if c.answers is not None:
        assert state["answers"] == c.answers
    if c.step is not None:
        assert state["step"] == c.step
    assert state["lifecycle"] == c.lifecycle
    if c.events is not None:
        assert not_messages(last.events) == c.events
    if c.kinds is not None:
        assert tuple(m.kind for m in last.messages) == c.kinds
    text = reply_text(last)
    for words in c.reply:
        assert words in text


# -- the start, the words, the language -------------------------------------------------------------


def test_start_greets_and_asks_for_consent() -> None:
    step = engine.start(EVERY_TYPE, None, T0)
    assert step.state["lifecycle"] == "invited"
    assert step.state["step"] == CONSENT
    assert step.state["answers"] == {}
    assert step.state["flow"] == "every_type" and step.state["flow_hash"] == EVERY_TYPE.content_hash
    (message,) = step.events
    assert isinstance(message, MessageSent) and message.kind == "intro"
    assert message.text.splitlines() == [
        "您好！这里是红十字会，这是一次测试回访。",
        "您愿意回答几个问题吗？",
        "请回复“1”或“好的”开始，回复“2”或“不用了”结束。",
    ]


def test_resume_takes_plain_text_too() -> None:
    state = engine.start(EVERY_TYPE, None, T0).state
    step = engine.resume(EVERY_TYPE, state, "好的", T0 + MINUTE)
    assert not_messages(step.events) == [ConsentGiven()]
    step = engine.resume(EVERY_TYPE, step.state, "２", T0 + 2 * MINUTE)
    assert step.state["answers"] == {"service": "satisfied"}


def test_question_message_lists_numbered_choices() -> None:
    step = talk(EVERY_TYPE, TO_NEEDS).last
    (message,) = step.messages
    assert message.question_id == "needs" and message.multiple
    assert [(c.number, c.code, c.label) for c in message.choices] == [
        (1, "counselling", "心理疏导"), (2, "policy", "政策咨询"), (3, "company", "关怀陪伴"), (4, "nothing", "暂时不需要"),
    ]  # fmt: skip
    assert message.text.splitlines() == [
        "您还需要哪些帮助？", "1. 心理疏导", "2. 政策咨询", "3. 关怀陪伴", "4. 暂时不需要", "可以多选，例如：1、3",
    ]  # fmt: skip


def test_optional_questions_say_they_can_be_skipped() -> None:
    (message,) = talk(EVERY_TYPE, TO_CALLBACK).last.messages
    assert message.text.endswith("请回复“是”或“否”（可回复“跳过”）")


def test_english_respondent() -> None:
    conversation = talk(EVERY_TYPE, [], lang="en")
    assert "Would you answer a few questions?" in reply_text(conversation.last)
    step = conversation.say("yes")
    assert step.messages[0].text.splitlines()[:3] == [
        "How satisfied are you with our service?", "1. Very satisfied", "2. Satisfied",
    ]  # fmt: skip
    conversation.say("Satisfied")
    assert conversation.state["answers"] == {"service": "satisfied"}
    assert "Sorry, I did not understand that." in reply_text(conversation.say("purple"))


# -- stopping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["好的", "1", "重新开始", "退订", "帮助", IMAGE, later("1", 40 * DAY)])
def test_after_opting_out_nothing_is_ever_said(message: str | Say) -> None:
    conversation = talk(EVERY_TYPE, [*TO_NEEDS, "退订", "是"])
    assert conversation.state["lifecycle"] == "opted_out"
    frozen = copy.deepcopy(conversation.state)
    step = conversation.say(message)
    assert step.events == []
    assert step.state == frozen


def test_expire_from_outside() -> None:
    conversation = talk(EVERY_TYPE, TO_NEEDS)
    before = copy.deepcopy(conversation.state)
    step = engine.expire(conversation.state, "replaced")
    assert conversation.state == before
    assert step.events == [SessionExpired("replaced")]
    assert step.state["lifecycle"] == "expired"
    assert step.state["expired_by"] == "replaced"  # why it ended, for whoever reads it next
    assert step.state["answers"] == AT_NEEDS
    done = talk(EVERY_TYPE, [*TO_OPINION, "都挺好的"]).state
    with pytest.raises(MachineError):
        engine.expire(done, "replaced")


def test_expiry_on_a_late_message_says_it_was_silence() -> None:
    # The runtime tells an ended-by-silence survey from others by this, whoever noticed it.
    state = talk(EVERY_TYPE, [*TO_NEEDS, later("1", 31 * DAY)]).state
    assert (state["lifecycle"], state["expired_by"]) == ("expired", "silence")


def test_prompt_repeats_the_current_question_without_changing_anything() -> None:
    conversation = talk(EVERY_TYPE, TO_HOUSEHOLD)
    before = copy.deepcopy(conversation.state)
    step = engine.prompt(EVERY_TYPE, conversation.state)
    assert step.state == before
    assert [m.question_id for m in step.messages] == ["household"]
    assert [m.kind for m in engine.prompt(EVERY_TYPE, talk(EVERY_TYPE).state).messages] == ["intro"]
    opted_out = talk(EVERY_TYPE, ["退订", "是"]).state
    assert engine.prompt(EVERY_TYPE, opted_out).events == []


def test_config_changes_the_limits() -> None:
    config = EngineConfig(resume_after=HOUR, expire_after=DAY, max_misses=2)
    conversation = talk(EVERY_TYPE, TO_HOUSEHOLD)
    conversation.say("很多", config)
    step = conversation.say("不知道", config)
    assert not_messages(step.events) == [recorded("household", None, "很多\n不知道", parsed=False)]
    step = conversation.say(later("算了", 2 * HOUR), config)
    assert [m.kind for m in step.messages] == ["confirm"]
    step = conversation.say(later("算了", 2 * DAY), config)
    assert not_messages(step.events) == [SessionExpired()]


# -- every default flow, to the end ----------------------------------------------------------------


def _answer(flow: Flow, qid: str, how: str) -> str:
    """A typical Chinese answer: the number or the label of the first (or last) option."""
    q = flow.question(qid)
    if q.type in ("single_choice", "rating"):
        option = q.options[0] if how in ("number", "label") else q.options[-1]
        index = q.options.index(option) + 1
        return str(index) if how == "number" else option.label.zh
    if q.type == "multi_choice":
        return {"number": "1、2", "label": q.options[0].label.zh, "last": "①"}[how]
    if q.type == "yes_no":
        return {"number": "1", "label": "是", "last": "不是"}[how]
    if q.type == "nps":
        return "9"
    if q.type == "number":
        return str(int(q.min if q.min is not None else 1))
    assert q.type == "text"
    return "工作人员很耐心，谢谢你们"


@pytest.mark.parametrize("how", ["number", "label", "last"])
@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_every_flow_walks_to_the_end(flow_id: str, how: str) -> None:
    flow = FLOWS[flow_id]
    conversation = talk(flow, ["好的"])
    for _ in range(len(flow.questions) + 1):
        if conversation.state["lifecycle"] != "active":
            break
        conversation.say(_answer(flow, conversation.state["step"], how))
    assert conversation.state["lifecycle"] == "completed"
    assert conversation.state["step"] == END
    asked = [m.question_id for m in (m for s in conversation.steps for m in s.messages) if m.kind == "question"]
    answers = [e for e in conversation.events if isinstance(e, AnswerRecorded)]
    assert [a.question_id for a in answers] == asked, "every question asked was answered, once, in order"
    assert all(a.parsed and not a.skipped and a.value is not None for a in answers)
    assert set(conversation.state["answers"]) == set(asked)
    last = conversation.last
    assert [type(e) for e in last.events][-2:] == [MessageSent, SessionCompleted]
    assert last.messages[-1].kind == "closing" and last.messages[-1].text == flow.closing.zh
    if how == "last":
        # The worst rating escalates wherever a flow says so.
        escalated = {(e.question_id, e.reason) for e in conversation.events if isinstance(e, EscalationRequested)}
        for q in (flow.question(qid) for qid in asked):
            if q.type == "rating" and q.escalate and q.options[-1].code in q.escalate.on_options:
                assert (q.id, f"option:{q.options[-1].code}") in escalated


def test_the_unhappy_walk_asks_the_follow_up() -> None:
    conversation = talk("humanitarian_aid", ["好的", "不好", "申请太麻烦", "等太久", "①③", "没有了"])
    assert conversation.state["lifecycle"] == "completed"
    assert conversation.state["answers"] == {
        "overall": "poor",
        "improve": "申请太麻烦",
        "main_problem": "waiting_too_long",
        "other_services": ["counselling", "care_companionship"],
        "opinion": "没有了",
    }
    escalations = [e for e in conversation.events if isinstance(e, EscalationRequested)]
    assert [(e.question_id, e.reason) for e in escalations] == [("overall", "option:poor"), ("opinion", "text")]


# -- determinism ---------------------------------------------------------------------------------------


def test_the_same_conversation_gives_the_same_results() -> None:
    said: list[str | Say] = [*TO_HOUSEHOLD, "很多", "帮助", BACK, "1", "3", IMAGE, "跳过", "我要投诉", "还在吗"]
    first, second = talk(EVERY_TYPE, said), talk(EVERY_TYPE, said)
    assert [s.state for s in first.steps] == [s.state for s in second.steps]
    assert [s.events for s in first.steps] == [s.events for s in second.steps]


# -- any input at all -------------------------------------------------------------------------------

TYPICAL = [
    "好的", "1", "2", "①", "一、三", "1、2", "非常满意", "不好", "一般", "是", "否", "8", "三", "跳过",
    "帮助", "重新开始", "退订", "确定", "?", "", " ", "我要投诉", "😀", "第一个", "都挺好",
]  # fmt: skip
GAPS = [MINUTE, MINUTE, MINUTE, 73 * HOUR, 31 * DAY]

messages = st.builds(
    Say,
    text=st.one_of(st.sampled_from(TYPICAL), st.text(max_size=40)),
    gap=st.sampled_from(GAPS),
    kind=st.sampled_from(["text"] * 9 + ["unsupported"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_id=st.sampled_from(sorted(DEFAULT_FLOWS)), said=st.lists(messages, max_size=15))
def test_any_messages_to_any_flow(flow_id: str, said: list[Say]) -> None:
    flow = DEFAULT_FLOWS[flow_id]
    conversation = talk(flow)
    questions = {q.id for q in flow.questions}
    states = {CONSENT, DECLINED, END, *questions}
    attempts: dict[str, list[str]] = {}  # texts given as answers to the current question
    for message in said:
        before = conversation.state
        silence = conversation.now + message.gap - datetime.fromisoformat(before["last_seen"])
        step = conversation.say(message)  # checks JSON and that `before` is untouched
        assert step.state["lifecycle"] in LIFECYCLE_STATES
        assert step.state["step"] in states
        if before["lifecycle"] == "opted_out":
            assert step.events == []
        is_answer = (
            before["lifecycle"] == "active"
            and before["step"] in questions
            and before["pending"] is None
            and silence <= engine.DEFAULT_CONFIG.resume_after
            and (message.kind == "unsupported" or detect_command(message.text or "") is None)
        )
        if is_answer:
            raw = UNSUPPORTED_RAW if message.kind == "unsupported" else (message.text or "")
            attempts.setdefault(before["step"], []).append(raw)
        for event in step.events:
            if isinstance(event, AnswerRecorded):
                for text in attempts.get(event.question_id, []):
                    assert text in event.raw, f"{text!r} lost from {event!r}"
                attempts.pop(event.question_id, None)
            if isinstance(event, SessionRestarted):
                attempts.clear()
