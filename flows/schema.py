"""The survey language: what a flow file may say, checked by pydantic.

Cross-references (unknown ids, unreachable questions, cycles) are checked by
`flows.lint`, which needs the whole flow; this module checks each piece alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, model_validator

END = "end"  # a `goto` target that closes the survey

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

QuestionType = Literal[
    "single_choice", "multi_choice", "rating", "nps", "yes_no", "number", "text", "info"
]
CHOICE_TYPES = frozenset({"single_choice", "multi_choice", "rating"})
YES, NO = "yes", "no"  # the codes a yes_no answer is stored as


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18nText(Strict):
    """Every text a respondent, staff member or admin reads exists in both languages."""

    zh: NonEmpty
    en: NonEmpty

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class Option(Strict):
    code: Identifier
    label: I18nText
    synonyms: list[NonEmpty] = Field(default_factory=list)
    # For rating scales: the numeric value reports average over (higher is better).
    score: int | None = None


class EscalationRule(Strict):
    """Marks an answer as worth a staff member's attention (tickets: a later issue)."""

    on_options: list[Identifier] = Field(default_factory=list)
    on_text: bool = False  # any non-empty free-text answer escalates (complaints, opinions)
    keywords: list[NonEmpty] = Field(default_factory=list)  # free text containing one escalates
    max_value: float | None = None  # numbers / NPS at or below this escalate
    queue: Identifier = "general"
    priority: Literal["normal", "high", "urgent"] = "normal"


class ReportGroup(Strict):
    """Answers reports count together, as the 2022 article does ("好或非常好" = very_good +
    good): a label in both languages and the option codes it gathers."""

    label: I18nText
    codes: list[Identifier] = Field(min_length=1)


REPORT_GROUP_TYPES = frozenset({"single_choice", "rating", "yes_no"})


class Condition(Strict):
    """True when the earlier answer to `question` matches every test given."""

    question: Identifier
    any_of: list[Identifier] | None = None
    none_of: list[Identifier] | None = None
    min: float | None = None
    max: float | None = None
    answered: bool | None = None

    @model_validator(mode="after")
    def _has_a_test(self) -> Condition:
        if all(v is None for v in (self.any_of, self.none_of, self.min, self.max, self.answered)):
            raise ValueError("a condition needs one of any_of, none_of, min, max, answered")
        return self


class Branch(Strict):
    when: Condition | None = None  # no condition: always taken (the fallback, last)
    goto: Identifier


class Question(Strict):
    id: Identifier
    type: QuestionType
    prompt: I18nText
    options: list[Option] = Field(default_factory=list)
    optional: bool = False
    # multi_choice: how many may be picked; number: bounds of the value; text: bounds of length.
    min_choices: int | None = Field(default=None, ge=1)
    max_choices: int | None = Field(default=None, ge=1)
    min: float | None = None
    max: float | None = None
    integer: bool = True  # number questions: whole numbers only
    unit: I18nText | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    next: Identifier | list[Branch] | None = None  # None: the next question in the file
    escalate: EscalationRule | None = None
    # Reports: what the question asks about, as a short phrase for the written summary
    # ("对人道救助项目的总体评价"; default: the prompt), and groups of options counted together.
    report_label: I18nText | None = None
    report_groups: list[ReportGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shape_fits_type(self) -> Question:
        if self.type in CHOICE_TYPES:
            if len(self.options) < 2:
                raise ValueError(f"a {self.type} question needs at least 2 options")
        elif self.options:
            raise ValueError(f"a {self.type} question takes no options")
        if self.type == "rating" and any(o.score is None for o in self.options):
            raise ValueError("every option of a rating question needs a score")
        if self.type == "info" and self.optional:
            raise ValueError("an info message has no answer to skip")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        if self.min_choices and self.max_choices and self.min_choices > self.max_choices:
            raise ValueError("min_choices is greater than max_choices")
        return self


class Category(Strict):
    code: Identifier
    name: I18nText
    aliases: list[NonEmpty] = Field(default_factory=list)
    order: int = 100  # position in the "which group are you in?" menu


FlowKind = Literal["survey", "followup"]


class Flow(Strict):
    id: Identifier
    version: int = Field(ge=1)
    # "survey": a respondent category's survey, offered in the "which group are you in?"
    # menu. "followup": started by huifang itself about something the respondent raised
    # (a resolved ticket), never offered in the menu; it may leave out consent (the person
    # asked us for help, and 退订 still works at any time) and use {placeholders} filled
    # from the session's variables.
    kind: FlowKind = "survey"
    category: Category
    title: I18nText
    intro: I18nText  # greeting and purpose, shown with the consent question (or the first one)
    consent: I18nText | None = None  # the yes/no question asking to take part
    declined: I18nText | None = None  # said when they decline
    closing: I18nText  # said when the survey is complete
    questions: list[Question] = Field(min_length=1)
    # Overrides of the built-in system messages (flows.messages.DEFAULTS keys).
    messages: dict[str, I18nText] = Field(default_factory=dict)

    _by_id: dict[str, Question] = PrivateAttr(default_factory=dict)
    _hash: str | None = PrivateAttr(default=None)

    def model_post_init(self, context: object) -> None:
        self._by_id = {q.id: q for q in self.questions}

    @model_validator(mode="after")
    def _survey_asks_consent(self) -> Flow:
        if self.kind == "survey":
            missing = [name for name in ("consent", "declined") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a survey needs {' and '.join(missing)} (only a followup flow may leave them out)")
        elif (self.consent is None) != (self.declined is None):
            raise ValueError("consent and declined go together: give both or neither")
        return self

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical content; `version` is a label, not content."""
        if self._hash is None:
            data = self.model_dump(mode="json", exclude={"version"})
            canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            self._hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        return self._hash

    def question(self, qid: str) -> Question:
        return self._by_id[qid]
