"""An organisation's own detection phrases, read from a small YAML or JSON text.

    complaint: [垃圾, 骗钱]
    help: [补办证书]
    suggestion: [搞个群]
    none: [垃圾分类]       # never escalate: a none phrase hides the words inside it
    human: [找站长]        # counts as asking for a person

They are added to the built-in rules (flows/detect/rules.py); where an organisation's phrase
is the same as a built-in one, the organisation's kind wins. Errors name file:line, as the
flow loader's do.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr, ValidationError

from flows.loader import read_source
from flows.normalize import normalize
from flows.source import FlowError, Source

MAX_PHRASE = 40
MAX_PHRASES = 2000  # per file: every phrase is tried at every place of every answer
KINDS = ("complaint", "help", "suggestion", "none", "human")


def _check_phrase(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("短语不能换行 a phrase must be on one line")
    if not normalize(value).strip():
        raise ValueError("短语为空 the phrase is empty")
    if len(value) > MAX_PHRASE:
        raise ValueError(f"短语太长（最多 {MAX_PHRASE} 个字） the phrase is longer than {MAX_PHRASE} characters")
    return value


Phrase = Annotated[StrictStr, AfterValidator(_check_phrase)]


class RuleSet(BaseModel):
    """Extra phrases per kind, merged with the built-in rules by `classify(…, extra=…)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complaint: tuple[Phrase, ...] = ()
    help: tuple[Phrase, ...] = ()
    suggestion: tuple[Phrase, ...] = ()
    none: tuple[Phrase, ...] = ()
    human: tuple[Phrase, ...] = ()


class RulesFileError(Exception):
    def __init__(self, errors: list[FlowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path


def _message(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return f"未知的类别 unknown kind (use {', '.join(KINDS)})"
    if err["type"] in ("tuple_type", "list_type"):
        return "应为短语列表 expected a list of phrases"
    if err["type"] == "string_type":
        return "应为文字 expected text (quote numbers: \"110\")"
    return str(err["msg"]).removeprefix("Value error, ")


def _duplicates(rules: RuleSet, src: Source) -> list[FlowError]:
    """A phrase given twice, or under two kinds: the file says two things, so say which."""
    errors: list[FlowError] = []
    first: dict[str, str] = {}
    for kind in KINDS:
        if kind == "human":
            continue  # asking for a person is read apart from the kind; overlap is expected
        for i, phrase in enumerate(getattr(rules, kind)):
            key = normalize(phrase)
            path = f"{kind}[{i}]"
            if key in first:
                errors.append(
                    FlowError(src.name, src.line_of(path), path, f"「{phrase}」重复 repeated (first at {first[key]})")
                )
            else:
                first[key] = path
    return errors


def load_rules(name: str, text: str) -> tuple[RuleSet | None, list[FlowError]]:
    """Parse and check an organisation's rules; the RuleSet is None whenever there is an error."""
    src, errors = read_source(name, text)
    if errors:
        if src.data is not None and not isinstance(src.data, dict):
            return None, [
                FlowError(name, 1, "", f"规则文件应为映射 a rules file must be a mapping of {', '.join(KINDS)}")
            ]
        return None, errors
    try:
        rules = RuleSet.model_validate(src.data)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            path = _path(tuple(err["loc"]))
            out.append(FlowError(name, src.line_of(path), path, _message(dict(err))))
        return None, out
    total = sum(len(getattr(rules, kind)) for kind in KINDS)
    if total > MAX_PHRASES:
        return None, [FlowError(name, None, "", f"短语太多 too many phrases: {total} > {MAX_PHRASES}")]
    errors = _duplicates(rules, src)
    return (None if errors else rules), errors


def parse_rules(name: str, text: str) -> RuleSet:
    rules, errors = load_rules(name, text)
    if rules is None:
        raise RulesFileError(errors)
    return rules
