"""What a respondent's own words are: a complaint, a request for help, a suggestion, or
nothing to act on — and whether staff should follow them up.

Today every non-empty text except a few obvious "nothing to add" answers reads as a
complaint to follow up: a person who took the time to write something at the end of a
survey gets a human reading it. The free-text classifier (`flows.detect`) replaces the body
of `classify_text`; its callers (the answer and escalation handlers) stay as they are.
"""

from __future__ import annotations

import unicodedata

KINDS = ("complaint", "help", "suggestion", "none")

# Answers that say there is nothing to add, compared after trimming punctuation and case.
NOTHING_TO_ADD = frozenset({"没有", "没有了", "无", "都挺好", "挺好", "没意见", "no", "none"})


def _bare(text: str) -> str:
    # NFKC folds full-width letters (ｎｏ); punctuation around the words (“没有。”, "no!") goes.
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(("P", "Z")))


def classify_text(text: str) -> tuple[str, bool]:
    """(kind, escalate): kind is one of KINDS; escalate says staff should follow it up."""
    bare = _bare(text)
    if not bare or bare in NOTHING_TO_ADD:
        return ("none", False)
    return ("complaint", True)
