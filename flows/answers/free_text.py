"""Free-text answers: the respondent's own words, kept as typed."""

from __future__ import annotations

from flows.answers.result import EMPTY, FAILED, Parsed
from flows.schema import Question


def parse_text(question: Question, text: str) -> Parsed:
    # Only trimmed, never normalized: the words themselves are the answer.
    value = text.strip()
    if not value:
        return EMPTY
    if question.min_length is not None and len(value) < question.min_length:
        return FAILED["too_short"]
    if question.max_length is not None and len(value) > question.max_length:
        return FAILED["too_long"]
    return Parsed(ok=True, value=value)
