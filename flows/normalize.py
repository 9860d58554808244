"""One canonical form for what respondents type, so every parser compares like with like.

Respondents are often older people on phones: full-width digits from Chinese keyboards,
circled numbers copied from the question, stray "。" or "！", emoji with skin tones,
traditional characters from a handwriting pad or a phone set that way ("滿意", "退訂"). All
of these should compare equal to the plain form a flow author wrote.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Circled / dingbat numbers become " n " (not just "n" as NFKC would make them) so that
# "①③" reads as two picks, not as option 13.
_CIRCLED: dict[int, str] = {}
for _first, _count in ((0x2460, 20), (0x2776, 10), (0x2780, 10), (0x278A, 10)):
    for _i in range(_count):
        _CIRCLED[_first + _i] = f" {_i + 1} "
for _first, _count in ((0x2474, 20), (0x2488, 20)):  # ⑴..⒇ and ⒈..⒛
    for _i in range(_count):
        _CIRCLED[_first + _i] = f" {_i + 1} "
_CIRCLED[0x24EA] = " 0 "  # ⓪

# Invisible marks that make two identical-looking answers differ: variation selectors
# (✅ vs ✅️), skin tones (👍🏻), zero-width spaces, BOM, soft hyphen, and the keycap that
# makes "1️⃣" of a 1.
_INVISIBLE = dict.fromkeys(
    [0xFE0E, 0xFE0F, 0x20E3, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, *range(0x1F3FB, 0x1F400)]
)
_TRANSLATE = {**_CIRCLED, **_INVISIBLE}
_NEEDS_TRANSLATE = frozenset(_TRANSLATE)

# Sentence punctuation and quotes at either end carry no meaning in a short answer.
# A leading "." is kept before a digit so ".5" stays a number. str.strip is used rather
# than a "[...]+$" regex, which is quadratic on long runs of punctuation.
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_PUNCT = "。.!?~〜,、;:·…‥\"'`“”‘’「」『』《》〈〉﹁﹂"
_TRAILING = _PUNCT + _WHITESPACE
_LEADING = re.compile(rf"(?:[{re.escape(_TRAILING.replace('.', ''))}]|\.(?![0-9]))+")
_SPACES = re.compile(r"\s+")


_simplified: Any = None


def _to_simplified(text: str) -> str:
    """Traditional characters as simplified (OpenCC's t2s: ~1 µs a short answer)."""
    global _simplified
    if _simplified is None:
        import opencc  # its dictionaries load on first use, not when flows is imported

        _simplified = opencc.OpenCC("t2s")
    return str(_simplified.convert(text))


def normalize(text: str) -> str:
    """The canonical form of an answer: NFKC, simplified characters, lower-case, single
    spaces, no edge punctuation."""
    if not text.isascii():
        if not _NEEDS_TRANSLATE.isdisjoint(map(ord, text)):
            text = text.translate(_TRANSLATE)
        text = _to_simplified(unicodedata.normalize("NFKC", text))
    text = text.lower().rstrip(_TRAILING)
    lead = _LEADING.match(text)
    if lead:
        text = text[lead.end():]
    return _SPACES.sub(" ", text)
