"""Reading a free-text answer as a complaint, a request for help, a suggestion or nothing.

One pass of one compiled regular expression over the normalised text finds every phrase of
every kind (longest first at each place, patterns before phrases); a phrase right after a
negator counts as none. Clauses that no phrase touched get two last chances: a negative
satisfaction reading ("老师讲得不好") is a complaint, a bare question ("这个呢？", "收不收",
"还能申请不") asks for help.
The kinds found then decide by PRECEDENCE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flows.answers.lexicon import A_NOT_A, Reading, collapse_repeats, read_satisfaction
from flows.detect import rules as R
from flows.detect.ruleset import RuleSet
from flows.normalize import normalize

_BREAKS = ",.!?;:~、。…\n"
_CLAUSE = re.compile(f"[^{re.escape(_BREAKS)}]+")


def _any(words: frozenset[str]) -> str:
    return "(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + ")"


_NEGATED_ZH = re.compile(
    f"{_any(R.NEGATORS)}{_any(R.NEGATION_FILLERS)}*"
    f"(?:{_any(R.COORDINATED_NOUNS)}{_any(R.CONJUNCTIONS)}{_any(R.NEGATION_FILLERS)}*)?$"
)
_NEGATED_EN = re.compile(R.ENGLISH_NEGATION)
_QUESTION_TAIL = re.compile(R.QUESTION_TAIL)
_LOOKBACK = 16  # characters before a phrase where its negator may be


@dataclass(frozen=True, slots=True)
class Detection:
    kind: str  # complaint | help | suggestion | none
    escalate: bool
    matched: tuple[str, ...]  # the words of the text that decided it


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    start: int
    end: int
    negated: bool


_WORD_EDGE = "[a-z0-9]"


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _trie_regex(phrases: list[str]) -> str:
    """One regular expression matching the longest of `phrases` at a place.

    An alternation of hundreds of phrases is tried phrase by phrase at every character
    (about 1.5 ms per answer); a trie tries only the phrases that share what was read so far.
    English words must match whole: "human" is not inside "humanitarian".
    """
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = True

    def walk(node: dict[str, Any], last: str) -> str:
        parts = [
            re.escape(ch) + walk(child, ch) for ch, child in sorted(node.items()) if ch
        ]
        if "" in node:  # a phrase may end here: tried after every longer one
            parts.append(f"(?!{_WORD_EDGE})" if _is_word_char(last) else "")
        if len(parts) == 1:
            return str(parts[0])
        return "(?:" + "|".join(parts) + ")"

    tops = []
    for ch, child in sorted(trie.items()):
        edge = f"(?<!{_WORD_EDGE})" if _is_word_char(ch) else ""
        tops.append(edge + re.escape(ch) + walk(child, ch))
    return "|".join(tops) if tops else "(?!)"


class _Matcher:
    """Every pattern and phrase in one regular expression: one scan per answer.

    Patterns come first at each place, then the longest phrase; an earlier phrase list (an
    organisation's) decides the kind of a phrase that is also in a later one.
    """

    def __init__(self, patterns: list[tuple[str, str]], phrases: list[tuple[str, str]]):
        self._pattern_kinds: list[str] = []
        sources = []
        for kind, pattern in patterns:
            if re.compile(pattern).groups:
                raise ValueError(f"pattern {pattern!r} has a capturing group; use (?:…)")
            self._pattern_kinds.append(kind)
            sources.append(f"({pattern})")
        self._phrase_kinds: dict[str, str] = {}
        for kind, phrase in phrases:
            self._phrase_kinds.setdefault(normalize(phrase), kind)
        sources.append(f"({_trie_regex(list(self._phrase_kinds))})")
        self._regex = re.compile("|".join(sources))
        self._trie_group = len(sources)

    def hits(self, text: str) -> list[_Hit]:
        out = []
        for m in self._regex.finditer(text):
            group = m.lastindex
            # one capturing group per pattern, and the trie's last
            kind = self._phrase_kinds[m.group()] if group == self._trie_group else self._pattern_kinds[group - 1]  # type: ignore[operator]
            start = m.start()
            out.append(_Hit(kind, start, m.end(), kind != R.NONE and _negated(text, start)))
        return out


def _negated(text: str, start: int) -> bool:
    lo = max(0, start - _LOOKBACK)
    cut = max(text.rfind(ch, lo, start) for ch in _BREAKS)
    before = text[max(lo, cut + 1) : start].rstrip()
    if not before:
        return False
    if before[-1].isascii():
        return _NEGATED_EN.search(before) is not None
    return _NEGATED_ZH.search(before) is not None


def _entries(groups: dict[str, tuple[str, ...]], extra: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(kind, p) for kind, ps in extra.items() for p in ps] + [
        (kind, p) for kind, ps in groups.items() for p in ps
    ]


@lru_cache(maxsize=64)
def _matchers(extra: RuleSet | None) -> tuple[_Matcher, _Matcher]:
    mine = extra or RuleSet()
    kinds = {k: getattr(mine, k) for k in (R.COMPLAINT, R.HELP, R.SUGGESTION, R.NONE)}
    patterns = [(kind, p) for kind, ps in R.PATTERNS.items() for p in ps]
    detect = _Matcher(patterns, _entries(R.PHRASES, kinds))
    human = _Matcher([], _entries(R.HUMAN, {"human": mine.human}))
    return detect, human


def classify(text: str, *, extra: RuleSet | None = None) -> Detection:
    """What a respondent's free text asks of us. `extra`: an organisation's own phrases."""
    norm = normalize(text)
    if not norm:
        return Detection(R.NONE, False, ())
    detect, _ = _matchers(extra)
    hits = detect.hits(norm)
    found: dict[str, list[str]] = {}
    for hit in hits:
        kind = R.NONE if hit.negated else hit.kind
        words = norm[hit.start : hit.end]
        if hit.negated:
            words = _with_negator(norm, hit.start) + words
        found.setdefault(kind, []).append(words)
    for clause in _CLAUSE.finditer(norm):
        start, end = clause.span()
        if any(h.start < end and h.end > start for h in hits):
            continue
        words = clause.group().strip()
        if not words:
            continue
        reading = read_satisfaction(words)
        if isinstance(reading, Reading) and reading.level < 0:
            found.setdefault(R.COMPLAINT, []).append(words)
        elif (
            norm[end : end + 1] == "?"
            or words.endswith(R.QUESTION_ENDINGS)
            or (len(words) >= 4 and _QUESTION_TAIL.search(words))
            or A_NOT_A.search(collapse_repeats(words))  # "收不收", "会不会"; not "不错不错"
        ):
            found.setdefault(R.HELP, []).append(words)
    for kind in R.PRECEDENCE:
        if kind in found:
            return Detection(kind, kind in R.ESCALATING, tuple(dict.fromkeys(found[kind])))
    return Detection(R.NONE, False, ())


def _with_negator(text: str, start: int) -> str:
    lo = max(0, start - _LOOKBACK)
    cut = max(text.rfind(ch, lo, start) for ch in _BREAKS)
    before = text[max(lo, cut + 1) : start]
    m = _NEGATED_ZH.search(before.rstrip()) or _NEGATED_EN.search(before.rstrip())
    return before[m.start() :] if m else ""


def wants_human(text: str, *, extra: RuleSet | None = None) -> bool:
    """The respondent asks for a person: 人工, 找工作人员, 我要投诉, 打电话给我, "agent"…

    Not when the words only describe one ("工作人员态度很好") or say they need none
    ("不用打电话给我").
    """
    norm = normalize(text)
    if not norm:
        return False
    _, human = _matchers(extra)
    return any(h.kind == "human" and not h.negated for h in human.hits(norm))
