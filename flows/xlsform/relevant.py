"""XLSForm `relevant` expressions, read into what a flow's `next` branches can say.

A branch's `when` is one Condition on one question, and a question's branches are tried in
order, first match wins. So an expression is brought into disjunctive normal form: each
conjunction must end up testing a single question (it becomes one Condition, one branch), and
the disjunction becomes several branches with the same `goto`. What cannot be brought there
exactly is refused, never approximated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

MAX_BRANCHES = 32  # a relevant that expands further is too tangled to be a chat's branching


class RelevantError(ValueError):
    pass


# XPath as XLSForm writes it; `not(...)` is a function there, `and`/`or` are words.
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<ref>\$\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\s*\})
  | (?P<str>'[^']*'|"[^"]*"|‘[^’]*’|“[^”]*”)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>!=|>=|<=|=|>|<|\(|\)|,)
  | (?P<word>[A-Za-z][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Ref:
    name: str


Node = tuple[Any, ...]  # ("or", [..]) ("and", [..]) ("not", n) ("cmp", name, op, value) ("sel", name, value)


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RelevantError(f"无法理解 cannot read “{text[pos:pos + 20]}”")
        pos = m.end()
        if m.group("ref"):
            out.append(("ref", m.group("name")))
        elif m.group("str"):
            out.append(("str", m.group("str")[1:-1]))
        elif m.group("num"):
            out.append(("num", float(m.group("num"))))
        elif m.group("op"):
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
    return out


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: Any = None) -> Any:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            want = value if value is not None else kind
            got = "the end 结尾" if tok is None else f"“{tok[1]}”"
            raise RelevantError(f"应为 expected {want}, found {got}")
        self.i += 1
        return tok[1]

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise RelevantError(f"多余的内容 unexpected “{self.peek()[1]}”")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek() == ("word", "or"):
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.peek() == ("word", "and"):
            self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("word", "not"):
            self.i += 1
            self.take("op", "(")
            inner = self.or_expr()
            self.take("op", ")")
            return ("not", inner)
        if tok == ("op", "("):
            self.i += 1
            inner = self.or_expr()
            self.take("op", ")")
            return inner
        if tok == ("word", "selected"):
            self.i += 1
            self.take("op", "(")
            name = self.take("ref")
            self.take("op", ",")
            value = self.take("str")
            self.take("op", ")")
            return ("sel", name, value.strip())
        if tok is not None and tok[0] == "word":
            raise RelevantError(f"不支持的函数或词 unsupported “{tok[1]}” (only selected(), not(), and, or)")
        name = self.take("ref")
        op = self.take("op")
        if op not in ("=", "!=", ">", ">=", "<", "<="):
            raise RelevantError(f"应为比较符 expected a comparison after ${{{name}}}, found “{op}”")
        tok = self.peek()
        if tok is None or tok[0] not in ("str", "num"):
            raise RelevantError(f"${{{name}}} {op} 后应为 'text' 或数字 must be followed by a 'value' or a number")
        self.i += 1
        return ("cmp", name, op, tok[1].strip() if tok[0] == "str" else tok[1])


def parse(text: str) -> Node:
    return _Parser(text).parse()


def references(node: Node) -> list[str]:
    if node[0] in ("or", "and"):
        return [r for child in node[1] for r in references(child)]
    if node[0] == "not":
        return references(node[1])
    return [node[1]]


# A literal is (question, test, value): one test of a Condition.
Literal = tuple[str, str, Any]
Dnf = list[list[Literal]]

SINGLE = "single"  # single_choice, rating, yes_no
MULTI = "multi"
INTEGER = "integer"
DECIMAL = "decimal"
TEXT = "text"


@dataclass(frozen=True)
class Target:
    """What a referenced question is, as far as a condition on it cares."""

    kind: str  # SINGLE MULTI INTEGER DECIMAL TEXT
    codes: frozenset[str]


_UNANSWERED: Dnf = [[("", "answered", False)]]


def _with(q: str, dnf: Dnf) -> Dnf:
    return [[(q, test, value) for _, test, value in conj] for conj in dnf]


def _choice(q: str, t: Target, value: str, positive: bool) -> Dnf:
    if value not in t.codes:
        raise RelevantError(f"${{{q}}} 没有选项 has no option '{value}'")
    if positive:
        return [[(q, "any_of", [value])]]
    return [[(q, "none_of", [value])], *_with(q, _UNANSWERED)]


def _number(q: str, t: Target, op: str, v: float, positive: bool) -> Dnf:
    if not positive or op == "!=":
        # XPath compares an empty answer as NaN: every comparison false, so its negation true.
        flip = {"=": "!=", "!=": "=", ">=": "<", "<": ">=", ">": "<=", "<=": ">"}
        op = flip[op] if not positive else op
        if op == "!=":
            return [*_number(q, t, "<", v, True), *_number(q, t, ">", v, True), *_with(q, _UNANSWERED)]
        return [*_number(q, t, op, v, True), *_with(q, _UNANSWERED)]
    if op == "=":
        return [[(q, "min", v), (q, "max", v)]]
    if op == ">=":
        return [[(q, "min", v)]]
    if op == "<=":
        return [[(q, "max", v)]]
    if t.kind != INTEGER:
        # min and max are inclusive; a strict bound on a decimal has no exact equivalent.
        raise RelevantError(f"${{{q}}} 是小数，不能用 {op} is a decimal: use >= or <= (bounds are inclusive)")
    if op == ">":
        return [[(q, "min", float(math.floor(v) + 1))]]
    return [[(q, "max", float(math.ceil(v) - 1))]]


def _atom(node: Node, positive: bool, targets: dict[str, Target]) -> Dnf:
    q = node[1]
    t = targets[q]
    if node[0] == "sel":
        if t.kind not in (SINGLE, MULTI):
            raise RelevantError(f"selected() 只用于选择题 works on select questions only, ${{{q}}} is not one")
        return _choice(q, t, node[2], positive)
    _, _, op, value = node
    if isinstance(value, str) and value == "" and op in ("=", "!="):
        answered = (op == "!=") == positive
        return [[(q, "answered", answered)]]
    if t.kind in (INTEGER, DECIMAL):
        if not isinstance(value, float):
            raise RelevantError(f"${{{q}}} 是数字题，应与数字比较 is a number: compare it with a number")
        return _number(q, t, op, value, positive)
    if t.kind == SINGLE and isinstance(value, str) and op in ("=", "!="):
        return _choice(q, t, value, positive == (op == "="))
    if t.kind == MULTI:
        raise RelevantError(f"多选题请用 selected(${{{q}}}, '…') for a select_multiple use selected(${{{q}}}, '…')")
    raise RelevantError(f"无法比较 cannot compare ${{{q}}} {op} {value!r}: only = '' / != '' test a text answer")


def to_dnf(node: Node, targets: dict[str, Target], positive: bool = True) -> Dnf:
    kind = node[0]
    if kind == "not":
        return to_dnf(node[1], targets, not positive)
    if kind in ("or", "and"):
        parts = [to_dnf(child, targets, positive) for child in node[1]]
        if (kind == "or") == positive:
            out = [conj for part in parts for conj in part]
        else:
            out = [[]]
            for part in parts:
                out = [a + b for a in out for b in part]
                if len(out) > MAX_BRANCHES:
                    break
        if len(out) > MAX_BRANCHES:
            raise RelevantError(f"条件太复杂 too complex: more than {MAX_BRANCHES} cases")
        return out
    return _atom(node, positive, targets)


def merge(conj: list[Literal], targets: dict[str, Target]) -> dict[str, Any] | None:
    """One Condition for a conjunction, or None when it can never hold."""
    questions = {q for q, _, _ in conj}
    if len(questions) > 1:
        names = ", ".join(f"${{{q}}}" for q in sorted(questions))
        raise RelevantError(f"“and” 连接不同问题无法表达 cannot combine different questions with “and”: {names}")
    [q] = questions
    cond: dict[str, Any] = {"question": q}
    for _, test, value in conj:
        if test == "answered":
            if value is False and len(conj) > 1 and any(t != "answered" or v for _, t, v in conj):
                return None  # unanswered and also some value: never
            if value is True and len(conj) > 1:
                continue  # every other test needs an answer anyway
            cond[test] = value
        elif test == "any_of":
            if "any_of" in cond:
                if targets[q].kind == MULTI:
                    raise RelevantError(
                        f"不能要求同时选中多个选项 cannot require several options of ${{{q}}} at once"
                    )
                common = [c for c in cond["any_of"] if c in value]
                if not common:
                    return None
                cond["any_of"] = common
            else:
                cond["any_of"] = list(value)
        elif test == "none_of":
            cond["none_of"] = [*cond.get("none_of", []), *[c for c in value if c not in cond.get("none_of", [])]]
        elif test == "min":
            cond["min"] = max(cond.get("min", value), value)
        else:
            cond["max"] = min(cond.get("max", value), value)
    if "min" in cond and "max" in cond and cond["min"] > cond["max"]:
        return None
    if "any_of" in cond and "none_of" in cond and targets[q].kind != MULTI:
        cond["any_of"] = [c for c in cond["any_of"] if c not in cond["none_of"]]
        del cond["none_of"]
        if not cond["any_of"]:
            return None
    for key in ("min", "max"):
        if key in cond and float(cond[key]).is_integer():
            cond[key] = int(cond[key])
    return cond


def when_skipped(literal: Literal) -> bool:
    """A literal's truth for a question that was not asked (its answer is empty)."""
    _, test, value = literal
    return test == "answered" and value is False
