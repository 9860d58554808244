"""The conversation engine: pure functions from (flow, state, input, now) to (state, events).

No database, network, clock or randomness: the caller passes `now` and applies the events.
State is plain JSON so it can be stored as is and resumed on any process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from flows import messages, render
from flows.answers import parse_answer, parse_yes_no
from flows.answers.asides import asks_who, only_greets, says_later
from flows.answers.two_way import button_of, parse_two_way
from flows.commands import Command, detect_command
from flows.events import (
    AnswerRecorded,
    Choice,
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
from flows.machine import CONSENT, DECLINED, END, TERMINAL, compile_flow, lifecycle_move
from flows.normalize import normalize
from flows.schema import NO, YES, Flow, I18nText, Question

STATE_VERSION = 1
UNSUPPORTED_RAW = "[non-text message]"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    resume_after: timedelta = timedelta(hours=72)  # silence after which we ask "continue?"
    expire_after: timedelta = timedelta(days=30)  # silence after which the session is over
    max_misses: int = 3  # unrecognised answers before we keep the raw text and move on


DEFAULT_CONFIG = EngineConfig()


@dataclass(frozen=True, slots=True)
class Input:
    text: str | None
    kind: Literal["text", "choice", "unsupported"] = "text"


def start(flow: Flow, trigger: dict[str, Any] | None, now: datetime) -> Step:
    """A new session: the greeting and the consent question (a followup flow without
    consent: the greeting and its first question).

    `trigger` may carry `vars` (name → text, filled into a followup flow's `{name}`s, kept
    in the state for every later prompt) and `about` (what started it, e.g. "ticket:12",
    kept for whoever applies the answers)."""
    trigger = trigger or {}
    lang = "en" if trigger.get("lang") == "en" else "zh"
    state: dict[str, Any] = {
        "v": STATE_VERSION,
        "flow": flow.id,
        "flow_version": flow.version,
        "flow_hash": flow.content_hash,
        "lifecycle": "invited",
        "step": CONSENT,
        "pending": None,
        "misses": 0,
        "attempts": [],
        "answers": {},
        "lang": lang,
        "started_at": now.isoformat(),
        "last_seen": now.isoformat(),
        "source": trigger.get("source"),
    }
    if trigger.get("vars"):
        state["vars"] = {str(k): str(v) for k, v in trigger["vars"].items()}
    if trigger.get("about"):
        state["about"] = str(trigger["about"])
    if flow.consent is None:
        return _Turn(flow, state, Input(None), now, DEFAULT_CONFIG).begin()
    return Step(state, [_consent_message(flow, lang, state.get("vars"))])


def resume(
    flow: Flow,
    state: dict[str, Any],
    input: Input | str | None,
    now: datetime,
    config: EngineConfig = DEFAULT_CONFIG,
) -> Step:
    """The respondent said something: decide what happens and what to say."""
    if not isinstance(input, Input):
        input = Input(input)
    return _Turn(flow, state, input, now, config).run()


def expire(state: dict[str, Any], reason: str) -> Step:
    """End an unfinished session from outside (another survey began, the person left, a
    long silence noticed by the expiry sweep); `expired_by` keeps the reason in the state."""
    new = {
        **state,
        "lifecycle": lifecycle_move(state["lifecycle"], "expire"),
        "pending": None,
        "expired_by": reason,
    }
    return Step(new, [SessionExpired(reason)])


def prompt(flow: Flow, state: dict[str, Any]) -> Step:
    """Where the respondent stands, said again, changing nothing (a subscribe mid-survey)."""
    lang = state.get("lang", "zh")
    if state["lifecycle"] == "opted_out":
        return Step(state, [])
    if state["lifecycle"] in TERMINAL:
        return Step(state, [MessageSent(messages.text(flow, "already_done", lang), kind="notice")])
    if state["step"] == CONSENT:
        return Step(state, [_consent_message(flow, lang, state.get("vars"))])
    return Step(state, [render.question_message(flow, flow.question(state["step"]), lang, state.get("vars"))])


# Replies to "接着上次继续？" that decline carrying on now, whatever the question was.
_NOT_NOW = re.compile(r"(?:不用|不需要|不要|不了|算了|不继续|先不|下次吧?|以后吧?)(?:了|吧|啊)?(?:[,，\s]*谢谢)?")
# "有事吗", "怎么了", "什么事": a question back, not an answer to the question they were at.
_ASKS_BACK = re.compile(r"[?？吗么]$|^(?:什么事|啥事|怎么了|有事|干嘛|干什么)")
_AGREEING = re.compile(r"^(?:嗯+|对|是的?|好的?|行|确定)+")


def _confirms_stop(raw: str, yes: str, no: str) -> bool:
    """Whether a reply to "确定退订？" confirms: a yes, the first button, 退订 again, or
    those together ("对，退订", "嗯嗯退订", "是，别发了", "退吧")."""
    if parse_two_way(raw, yes, no) is True or detect_command(raw) is Command.STOP:
        return True
    parts = [p for p in re.split(r"[,，。.!！\s]+", raw.strip()) if p]
    if not parts:
        return False
    for part in parts:
        bare = _AGREEING.sub("", part)
        if (
            parse_yes_no(part) is True
            or bare in ("退", "退吧", "退了", "退啊")
            or (bare and detect_command(bare) is Command.STOP)
        ):
            continue
        return False
    return True


def _two_choices(flow: Flow, lang: str, first: str, second: str) -> tuple[Choice, ...]:
    """Buttons for a yes/no prompt; typing "1"/"2" or the words works the same."""
    return (
        Choice(YES, 1, messages.text(flow, first, lang)),
        Choice(NO, 2, messages.text(flow, second, lang)),
    )


def _consent_message(flow: Flow, lang: str, values: dict[str, str] | None) -> MessageSent:
    assert flow.consent is not None  # a flow without consent never has a consent step
    text = "\n".join(
        [
            render.text_of(flow, flow.intro, lang, values),
            render.text_of(flow, flow.consent, lang, values),
            messages.text(flow, "consent_hint", lang),
        ]
    )
    return MessageSent(text=text, kind="intro", choices=_two_choices(flow, lang, "consent_yes", "consent_no"))


class _Turn:
    """One respondent message, worked through on a copy of the state."""

    def __init__(self, flow: Flow, state: dict[str, Any], input: Input, now: datetime, config: EngineConfig):
        self.flow = flow
        self.compiled = compile_flow(flow)
        self.s = {**state, "answers": dict(state.get("answers", {})), "attempts": list(state.get("attempts", []))}
        self.input = input
        self.raw = (input.text or "") if input.kind != "unsupported" else UNSUPPORTED_RAW
        self.now = now
        self.config = config
        self.lang = self.s.get("lang", "zh")
        self.vars: dict[str, str] | None = self.s.get("vars")
        self.events: list[Event] = []

    # -- small helpers -------------------------------------------------------------------
    def say(self, key: str, kind: str = "notice", **values: object) -> None:
        self.events.append(MessageSent(messages.text(self.flow, key, self.lang, **values), kind=kind))  # type: ignore[arg-type]

    def confirm(self, key: str, first: str, second: str) -> None:
        self.events.append(
            MessageSent(
                messages.text(self.flow, key, self.lang),
                kind="confirm",
                choices=_two_choices(self.flow, self.lang, first, second),
            )
        )

    def lifecycle(self, trigger: str) -> None:
        self.s["lifecycle"] = lifecycle_move(self.s["lifecycle"], trigger)

    def question(self) -> Question:
        return self.compiled.questions[self.s["step"]]

    def text(self, text: I18nText) -> str:
        return render.text_of(self.flow, text, self.lang, self.vars)

    def prompt(self, q: Question) -> MessageSent:
        if self.vars:
            return render.question_message(self.flow, q, self.lang, self.vars)  # this session's own words
        key = (q.id, self.lang)
        msg = self.compiled.prompts.get(key)
        if msg is None:
            msg = self.compiled.prompts[key] = render.question_message(self.flow, q, self.lang)
        return msg

    def ask(self) -> None:
        """Say the current step's question (or the consent question) again."""
        if self.s["step"] == CONSENT:
            self.events.append(_consent_message(self.flow, self.lang, self.vars))
        else:
            self.events.append(self.prompt(self.question()))

    def done(self) -> Step:
        if self.s["lifecycle"] not in TERMINAL:
            self.s["last_seen"] = self.now.isoformat()
        return Step(self.s, self.events)

    # -- the turn ------------------------------------------------------------------------
    def begin(self) -> Step:
        """A flow without consent starts at once: its greeting and first question, one
        message (a follow-up may reach them as a customer-service message, and those are
        counted)."""
        self.lifecycle("activate")
        self.s["step"] = self.compiled.first
        self.enter_current()
        first = self.events[0]
        assert isinstance(first, MessageSent)
        self.events[0] = replace(first, text=f"{self.text(self.flow.intro)}\n{first.text}")
        return Step(self.s, self.events)

    def run(self) -> Step:
        lifecycle = self.s["lifecycle"]
        if lifecycle == "opted_out":
            return Step(self.s, [])  # nothing is ever sent to an opted-out respondent
        if lifecycle in TERMINAL:
            self.say("already_done")
            return Step(self.s, self.events)

        if self.s["pending"] == "stop":
            return self.confirm_stop()
        command = detect_command(self.raw) if self.input.kind != "unsupported" else None
        if command is Command.STOP:
            self.s["pending"] = "stop"
            self.confirm("confirm_stop", "stop_yes", "stop_no")
            return self.done()

        # 退订 works at any time, even after a long silence; everything else expires first.
        silence = self.now - datetime.fromisoformat(self.s["last_seen"])
        if silence > self.config.expire_after:
            self.lifecycle("expire")
            self.s["expired_by"] = "silence"
            self.events.append(SessionExpired())
            # A survey starts afresh (the runtime); a follow-up is simply over.
            self.say("expired" if self.flow.kind == "survey" else "already_done")
            return Step(self.s, self.events)
        if self.s["pending"] == "resume":
            return self.confirm_resume(command)

        # A follow-up (one or two questions, asked by staff's action) is answered, not resumed.
        if (
            lifecycle == "active" and self.flow.kind == "survey" and silence > self.config.resume_after
            and not self.answers_in_own_words()
        ):  # fmt: skip
            self.s["pending"] = "resume"
            self.confirm("welcome_back", "resume_continue", "resume_restart")
            return self.done()

        if command is Command.HELP:
            self.say("help", kind="help")
            self.ask()
            return self.done()
        if command is Command.RESTART:
            return self.restart()

        if self.s["step"] == CONSENT:
            return self.consent()
        return self.answer_or_skip(command)

    def answer_or_skip(self, command: Command | None) -> Step:
        return self.skip() if command is Command.SKIP else self.answer()

    def button(self, key: str) -> str:
        return messages.text(self.flow, key, self.lang)

    def answers_with_a_no(self) -> bool:
        """Whether a no also answers the question they were at ("没有" to "还有什么意见？",
        "不愿意", "还没有"), rather than "not now" to carrying on ("不用了", "算了")."""
        if self.s["step"] == CONSENT or _NOT_NOW.fullmatch(normalize(self.raw)):
            return False  # "不用了" answers "接着上次继续？", not the question
        q = self.question()
        return q.type == "text" or parse_answer(q, self.raw).ok

    def answers_in_own_words(self) -> bool:
        """A free-text question answered after a long silence ("工作人员态度太差了"): taken as
        the answer without first asking whether to continue, which would drop it. A short
        reply, a number, a yes or a question back ("有事吗") is asked about first."""
        if self.s["step"] == CONSENT or self.input.kind != "text":
            return False
        q = self.question()
        text = self.raw.strip()
        return (
            q.type == "text" and len(text) >= 4 and not text.isdigit() and parse_yes_no(text) is not True
            and not _ASKS_BACK.search(text) and detect_command(text) is None and not only_greets(text)
            and not says_later(text) and parse_answer(q, text).ok
        )  # fmt: skip

    def confirm_stop(self) -> Step:
        self.s["pending"] = None
        # "1", "确定", "是的", "对，退订", or 退订 said a second time all confirm.
        if _confirms_stop(self.raw, self.button("stop_yes"), self.button("stop_no")):
            self.lifecycle("opt_out")
            self.say("opted_out")
            self.events.append(OptedOut())
            return Step(self.s, self.events)
        # Anything but a clear yes keeps them in the survey: opting out must be explicit.
        self.say("stop_cancelled")
        self.ask()
        return self.done()

    def confirm_resume(self, command: Command | None) -> Step:
        """After a long silence we asked "接着上次继续？": 1 or a yes carries on, 2 or 重新开始
        starts again; a plain no or "not now" ("不用了", "没空") keeps every answer and waits,
        at most `max_misses` times; anything else is their answer to the question they were at."""
        button = button_of(self.raw, self.button("resume_continue"), self.button("resume_restart"))
        polarity = parse_yes_no(self.raw)
        if command is Command.RESTART or (button is False and polarity is not True):
            self.s["pending"] = None
            return self.restart()
        if button is True or polarity is True:  # "开始吧" is a yes, not 重新开始
            self.s["pending"] = None
            self.ask()
            return self.done()
        if polarity is False and self.answers_with_a_no():
            self.s["pending"] = None
            return self.answer()  # "没有" to "接着上次继续？" at "还有什么意见？": their answer
        if (polarity is False or says_later(self.raw)) and self.aside():
            self.say("later_survey", kind="notice")  # the question waits, nothing is lost
            return self.done()
        self.s["pending"] = None
        if command is Command.HELP:
            self.say("help", kind="help")
            self.ask()
            return self.done()
        return self.consent() if self.s["step"] == CONSENT else self.answer_or_skip(command)

    def restart(self) -> Step:
        self.s["answers"] = {}
        self.s["attempts"] = []
        self.s["misses"] = 0
        self.s["asides"] = 0
        self.s["pending"] = None
        self.events.append(SessionRestarted())
        self.say("restarted")
        if self.s["step"] != CONSENT:
            self.s["step"] = self.compiled.first
        self.enter_current()
        return self.done()

    def aside(self) -> bool:
        """Whether one more reply beside the question (busy, a greeting, "who are you")
        goes uncounted: `max_misses` of them per question, then they count as misses, so
        nothing loops for ever."""
        if self.input.kind == "unsupported" or self.s.get("asides", 0) >= self.config.max_misses:
            return False
        self.s["asides"] = self.s.get("asides", 0) + 1
        return True

    def consent(self) -> Step:
        agreed = (
            parse_two_way(self.raw, self.button("consent_yes"), self.button("consent_no"))
            if self.input.kind != "unsupported"
            else None
        )
        if agreed is not True and says_later(self.raw) and self.aside():
            # "现在不方便", "没空": not a no, and not a miss; the invitation stays open.
            self.say("later_invite", kind="notice")
            return self.done()
        if agreed is None and (only_greets(self.raw) or asks_who(self.raw)) and self.aside():
            # "你好", "你们是谁": the greeting (which says who we are) and the question again,
            # nothing counted: wary older people ask before they answer.
            self.ask()
            return self.done()
        if agreed is None:
            self.s["misses"] += 1
            if self.s["misses"] < self.config.max_misses:
                self.say("unsupported" if self.input.kind == "unsupported" else "not_understood", kind="hint")
                self.ask()
                return self.done()
            agreed = False  # never loop: three unclear replies close the invitation politely
        self.s["misses"] = 0
        self.s["asides"] = 0
        self.s["step"] = self.compiled.consent(agreed)
        if agreed:
            self.lifecycle("activate")
            self.events.append(ConsentGiven())
            self.enter_current()
            return self.done()
        self.lifecycle("decline")
        self.events.append(ConsentDeclined())
        assert self.flow.declined is not None  # declined comes with consent (flows.schema)
        self.events.append(MessageSent(self.text(self.flow.declined), kind="closing"))
        return Step(self.s, self.events)

    def skip(self) -> Step:
        q = self.question()
        if not q.optional:
            # A refusal counts as a try: after `max_misses` the question is left unanswered
            # and the survey goes on, so "不想回答" never loops.
            self.s["attempts"].append(self.raw)
            self.s["misses"] += 1
            if self.s["misses"] < self.config.max_misses:
                self.say("skip_not_allowed", kind="hint")
                self.ask()
                return self.done()
            self.events.append(AnswerRecorded(q.id, None, self.joined_raw(), parsed=True, skipped=True))
            self.s["answers"][q.id] = None
            self.say("moving_on", kind="hint")
            return self.move_on()
        self.s["attempts"].append(self.raw)
        self.events.append(AnswerRecorded(q.id, None, self.joined_raw(), parsed=True, skipped=True))
        self.s["answers"][q.id] = None
        return self.move_on()

    def answer(self) -> Step:
        q = self.question()
        parsed = parse_answer(q, self.raw) if self.input.kind != "unsupported" else None
        if parsed is not None and parsed.ok:
            self.s["attempts"].append(self.raw)
            self.events.append(AnswerRecorded(q.id, parsed.value, self.joined_raw(), parsed=True))
            self.s["answers"][q.id] = parsed.value
            self.escalations(q, parsed.value)
            return self.move_on()
        if parsed is not None and says_later(self.raw) and self.aside():
            # "在忙，晚点再答": the question waits for them, nothing is counted against it.
            self.say("later_survey", kind="notice")
            return self.done()
        if parsed is not None and only_greets(self.raw) and self.aside():
            self.ask()  # "你好", "在吗": no attempt at the question; asked again, not counted
            return self.done()
        self.s["attempts"].append(self.raw)
        self.s["misses"] += 1
        if self.s["misses"] >= self.config.max_misses:
            # Keep what they wrote and go on: never loop a respondent forever.
            self.events.append(AnswerRecorded(q.id, None, self.joined_raw(), parsed=False))
            self.s["answers"][q.id] = None
            self.say("moving_on", kind="hint")
            self.escalations(q, self.joined_raw(), unparsed=True)
            return self.move_on()
        if parsed is None:
            self.say("unsupported", kind="hint")
        else:
            self.events.append(
                MessageSent(render.problem_hint(self.flow, q, parsed.problem, self.lang), kind="hint")
            )
        self.ask()
        return self.done()

    def joined_raw(self) -> str:
        return "\n".join(self.s["attempts"]) if self.s["attempts"] else self.raw

    def escalations(self, q: Question, value: Any, *, unparsed: bool = False) -> None:
        rule = q.escalate
        if rule is None or value is None:
            return
        reason: str | None = None
        if unparsed or q.type == "text":
            # What they wrote in their own words: a complaint may hide in it.
            words = [k for k in rule.keywords if k in value]
            if words:
                reason = f"keyword:{words[0]}"
            elif rule.on_text and value.strip():
                reason = "text"
        elif q.type in ("nps", "number"):
            if rule.max_value is not None and value <= rule.max_value:
                reason = f"value<={rule.max_value:g}"
        else:
            picked = set(value) if isinstance(value, list) else {value}
            hit = [c for c in rule.on_options if c in picked]
            if hit:
                reason = f"option:{hit[0]}"
        if reason:
            self.events.append(
                EscalationRequested(q.id, reason, self.joined_raw(), rule.queue, rule.priority)
            )

    def move_on(self) -> Step:
        self.s["misses"] = 0
        self.s["asides"] = 0
        self.s["attempts"] = []
        self.s["step"] = self.compiled.advance(self.s["step"], self.s["answers"])
        self.enter_current()
        return self.done()

    def enter_current(self) -> None:
        """Say the step we arrived at; info messages need no answer, so pass through them."""
        while True:
            step = self.s["step"]
            if step == END:
                self.lifecycle("complete")
                self.events.append(MessageSent(self.text(self.flow.closing), kind="closing"))
                self.events.append(SessionCompleted())
                return
            if step in (CONSENT, DECLINED):
                self.ask()
                return
            q = self.question()
            self.events.append(self.prompt(q))
            if q.type != "info":
                return
            self.s["step"] = self.compiled.advance(step, self.s["answers"])
