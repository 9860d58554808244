"""Understanding what a respondent typed, per question type.

Respondents are often older people typing Chinese on phones. They answer "１", "①",
"第一个", "A", "非常满意", "我觉得挺满意的", "1、3", "三十五岁", "好的呀"; every parser here
accepts those forms and says clearly (`Parsed.problem`) why it could not understand the
rest, so the engine can explain and ask again instead of recording a guess.
"""

from __future__ import annotations

from flows.answers.choices import parse_choice
from flows.answers.free_text import parse_text
from flows.answers.numbers import parse_nps, parse_number
from flows.answers.result import INFO, Parsed, Problem
from flows.answers.yes_no import parse_yes_no, parse_yes_no_answer
from flows.schema import Question

__all__ = ["Parsed", "Problem", "parse_answer", "parse_yes_no"]


def parse_answer(question: Question, text: str) -> Parsed:
    """What `text` answers to `question`, or why it answers nothing."""
    kind = question.type
    if kind == "single_choice" or kind == "rating":
        return parse_choice(question, text, multi=False)
    if kind == "multi_choice":
        return parse_choice(question, text, multi=True)
    if kind == "yes_no":
        return parse_yes_no_answer(text)
    if kind == "nps":
        return parse_nps(text)
    if kind == "number":
        return parse_number(question, text)
    if kind == "text":
        return parse_text(question, text)
    return INFO
