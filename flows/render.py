"""Turning a question into the words a respondent reads, in their language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flows import messages
from flows.events import Choice, MessageSent
from flows.schema import NO, YES, Flow, I18nText, Question

_YES_NO = (
    (YES, I18nText(zh="是", en="Yes")),
    (NO, I18nText(zh="否", en="No")),
)


def _fmt(n: float | None) -> str:
    return "" if n is None else (str(int(n)) if float(n).is_integer() else str(n))


def choices(question: Question, lang: str) -> tuple[Choice, ...]:
    if question.type == "yes_no":
        return tuple(Choice(code, i, label.get(lang)) for i, (code, label) in enumerate(_YES_NO, 1))
    return tuple(Choice(o.code, i, o.label.get(lang)) for i, o in enumerate(question.options, 1))


def instruction(flow: Flow, question: Question, lang: str) -> str:
    t = question.type
    if t in ("single_choice", "rating"):
        return messages.text(flow, "choose_one", lang)
    if t == "multi_choice":
        return messages.text(flow, "choose_many", lang)
    if t == "yes_no":
        return messages.text(flow, "choose_yes_no", lang)
    if t == "nps":
        return messages.text(flow, "nps_range", lang)
    if t == "number":
        if question.min is not None and question.max is not None:
            return messages.text(flow, "number_range", lang, min=_fmt(question.min), max=_fmt(question.max))
        return messages.text(flow, "number_any", lang)
    if t == "text":
        return messages.text(flow, "text_free", lang)
    return ""


# Lines that tell someone typing in a chat how to reply: an interviewer reading the question
# over the phone leaves them out (a range or "several" still says what the answer may be).
_CHAT_ONLY = ("consent_hint", "choose_one", "choose_yes_no", "text_free")


def for_reading_aloud(flow: Flow, text: str, lang: str) -> str:
    """A message as an interviewer reads it to the respondent: without "请回复一个数字，例如：1",
    "请直接输入您的回答。" or "（可回复“跳过”）"."""
    chat_only = {messages.text(flow, key, lang) for key in _CHAT_ONLY}
    skip_note = messages.text(flow, "optional_note", lang)
    lines = []
    for line in text.split("\n"):
        spoken = line.removesuffix(skip_note).strip()
        if spoken and spoken not in chat_only:
            lines.append(spoken)
    return "\n".join(lines)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]*)\}")


def placeholders(text: str) -> list[str]:
    """The `{name}`s a text asks for (`{{` and `}}` are literal braces, not placeholders)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1)]


def fill(text: str, values: Mapping[str, str]) -> str:
    """`{name}` replaced by `values[name]`, in one pass, so a value that contains braces (a
    respondent's own words) is never read as a placeholder; `{{`/`}}` give `{`/`}`; a name
    without a value is left as written, so a missing one shows instead of vanishing."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)[0]
        return str(values[name]) if name in values else m.group(0)

    return _PLACEHOLDER.sub(one, text)


def text_of(flow: Flow, text: I18nText, lang: str, values: Mapping[str, str] | None) -> str:
    """A flow's text in `lang`; a followup flow's placeholders filled from the session's
    values (a survey's texts are shown as written)."""
    raw = text.get(lang)
    return fill(raw, values or {}) if flow is not None and flow.kind == "followup" else raw


def question_message(
    flow: Flow, question: Question, lang: str, values: Mapping[str, str] | None = None
) -> MessageSent:
    opts = choices(question, lang) if question.type != "info" else ()
    lines = [text_of(flow, question.prompt, lang, values)]
    lines.extend(f"{c.number}. {c.label}" for c in opts)
    hint = instruction(flow, question, lang)
    if question.optional:
        hint = f"{hint}{messages.text(flow, 'optional_note', lang)}"
    if hint:
        lines.append(hint)
    return MessageSent(
        text="\n".join(lines),
        kind="info" if question.type == "info" else "question",
        question_id=question.id,
        choices=opts,
        multiple=question.type == "multi_choice",
    )


def problem_hint(flow: Flow, question: Question, problem: str | None, lang: str) -> str:
    """One short sentence on what went wrong, then (from the caller) the question again."""
    values: dict[str, dict[str, object]] = {
        "too_many": {"max": question.max_choices},
        "too_few": {"min": question.min_choices},
        "too_short": {"min": question.min_length},
        "too_long": {"max": question.max_length},
        "out_of_range": {
            "min": _fmt(0 if question.type == "nps" else question.min),
            "max": _fmt(10 if question.type == "nps" else question.max),
        },
    }
    if problem in values and all(v not in (None, "") for v in values[problem].values()):
        return messages.text(flow, problem, lang, **values[problem])
    if problem == "ambiguous":
        if question.type in ("single_choice", "rating"):
            return messages.text(flow, "ambiguous", lang)
        if question.type == "yes_no":
            return messages.text(flow, "choose_yes_no", lang)
        if question.type == "multi_choice":
            return messages.text(flow, "ambiguous_many", lang)
    return messages.text(flow, "not_understood", lang)
