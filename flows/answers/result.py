"""What a parser says about one answer: the value it understood, or why it understood none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from flows.schema import NO, YES

Problem = Literal[
    "unrecognised",
    "too_many",
    "too_few",
    "out_of_range",
    "not_a_number",
    "too_short",
    "too_long",
    "ambiguous",
    "empty",
]


@dataclass(frozen=True, slots=True)
class Parsed:
    ok: bool
    value: Any = None  # option code, list of codes, "yes"/"no", int/float, text; None for info
    problem: Problem | None = None  # why not ok


# Results are immutable, so the common ones are made once rather than per message.
FAILED: dict[str, Parsed] = {
    problem: Parsed(ok=False, problem=problem) for problem in get_args(Problem)
}
EMPTY = FAILED["empty"]
UNRECOGNISED = FAILED["unrecognised"]
NOT_A_NUMBER = FAILED["not_a_number"]
OUT_OF_RANGE = FAILED["out_of_range"]
INFO = Parsed(ok=True)
YES_PARSED = Parsed(ok=True, value=YES)
NO_PARSED = Parsed(ok=True, value=NO)

# Answers longer than this are not a pick from a list or a yes/no; scanning them for
# words would only invite false matches (and cost time on pasted essays).
MAX_CHOICE_TEXT = 300
