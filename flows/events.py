"""What the engine decides; the runtime applies each event with one handler per type.

Events are plain frozen dataclasses so the engine stays free of I/O and the runtime can
store them (`to_dict`) or render them for any channel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MessageKind = Literal[
    "intro", "question", "hint", "help", "confirm", "info", "closing", "notice"
]


@dataclass(frozen=True, slots=True)
class Choice:
    """A button a channel may offer; typing the number or the words works the same."""

    code: str
    number: int
    label: str


@dataclass(frozen=True, slots=True)
class MessageSent:
    text: str
    kind: MessageKind = "question"
    question_id: str | None = None
    choices: tuple[Choice, ...] = ()
    multiple: bool = False  # several choices may be picked


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    question_id: str
    value: Any  # option code, list of codes, number, text; None when skipped or unparsed
    raw: str  # every text the respondent sent for this question, in order, "\n"-joined
    parsed: bool
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class EscalationRequested:
    question_id: str
    reason: str  # "option:<code>", "text", "keyword:<word>", "value<=<n>"
    raw: str
    queue: str
    priority: str


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    pass


@dataclass(frozen=True, slots=True)
class ConsentDeclined:
    pass


@dataclass(frozen=True, slots=True)
class SessionCompleted:
    pass


@dataclass(frozen=True, slots=True)
class SessionRestarted:
    pass


@dataclass(frozen=True, slots=True)
class SessionExpired:
    reason: str = "silence"  # "silence", "replaced" (another survey began), "unreachable"


@dataclass(frozen=True, slots=True)
class OptedOut:
    pass


Event = (
    MessageSent
    | AnswerRecorded
    | EscalationRequested
    | ConsentGiven
    | ConsentDeclined
    | SessionCompleted
    | SessionRestarted
    | SessionExpired
    | OptedOut
)


def to_dict(event: Event) -> dict[str, Any]:
    return {"type": type(event).__name__, **asdict(event)}


@dataclass(frozen=True, slots=True)
class Step:
    """The result of `start` / `resume`: the new session state (plain JSON) and the events."""

    state: dict[str, Any]
    events: list[Event] = field(default_factory=list)

    @property
    def messages(self) -> list[MessageSent]:
        return [e for e in self.events if isinstance(e, MessageSent)]
