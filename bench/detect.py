"""How well, and how fast, flows.detect reads respondents' free text.

Prints precision, recall and F1 of `escalate` (does the answer open a ticket?) and of each
kind, the confusion matrix, for the dev set (tests/flows/detect_cases.tsv, which the rules
were tuned on), the held-out set (tests/flows/detect_heldout.tsv, written before the rules and
never tuned on) and the fresh set (tests/flows/detect_fresh.tsv, written after the rules in
phrasings unlike the dev set, run once), then sentences per second. Goal: precision and recall of escalate ≥ 0.9.

    .venv/bin/python bench/detect.py
    .venv/bin/python bench/detect.py --errors      # also list every sentence read wrongly
    .venv/bin/python bench/detect.py --only dev    # one set
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.detect import KINDS, classify  # noqa: E402

SETS = {
    "dev": ROOT / "tests" / "flows" / "detect_cases.tsv",
    "held-out": ROOT / "tests" / "flows" / "detect_heldout.tsv",
    "fresh": ROOT / "tests" / "flows" / "detect_fresh.tsv",
}
GOAL = 0.9


@dataclass(frozen=True)
class Case:
    kind: str
    category: str
    text: str
    line: int


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, category, text = line.split("\t")
        if kind not in KINDS:
            raise SystemExit(f"{path.name}:{number}: unknown kind {kind!r}")
        cases.append(Case(kind, category, text, number))
    return cases


def prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and support of the positive class over (truth, predicted) pairs."""
    tp = sum(t and p for t, p in pairs)
    fp = sum(p and not t for t, p in pairs)
    fn = sum(t and not p for t, p in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp + fn


def report(name: str, cases: list[Case], show_errors: bool) -> tuple[float, float]:
    escalating = {"complaint", "help"}
    got = [classify(c.text) for c in cases]
    print(f"\n== {name}: {len(cases)} sentences ({SETS[name].name})")
    print(f"{'':12} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    p, r, f, n = prf([(c.kind in escalating, d.escalate) for c, d in zip(cases, got, strict=False)])
    print(f"{'escalate':12} {p:9.3f} {r:7.3f} {f:6.3f} {n:8}")
    escalate = (p, r)
    for kind in KINDS:
        p, r, f, n = prf([(c.kind == kind, d.kind == kind) for c, d in zip(cases, got, strict=False)])
        print(f"{kind:12} {p:9.3f} {r:7.3f} {f:6.3f} {n:8}")
    accuracy = sum(c.kind == d.kind for c, d in zip(cases, got, strict=False)) / len(cases)
    print(f"kind accuracy {accuracy:.3f}")
    print("\nconfusion (rows: label, columns: read as)")
    print(f"{'':12}" + "".join(f"{k:>11}" for k in KINDS))
    for truth in KINDS:
        row = [sum(c.kind == truth and d.kind == read for c, d in zip(cases, got, strict=False)) for read in KINDS]
        print(f"{truth:12}" + "".join(f"{v:11}" for v in row))
    if show_errors:
        print("\nread wrongly:")
        for c, d in zip(cases, got, strict=False):
            if c.kind != d.kind:
                flag = "!" if (c.kind in escalating) != d.escalate else " "
                print(f" {flag} {SETS[name].name}:{c.line} {c.kind} → {d.kind} {list(d.matched)}  {c.text}")
    return escalate


def speed(texts: list[str], seconds: float) -> float:
    classify(texts[0])  # compile the rules outside the clock
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            classify(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", action="store_true", help="list the sentences read wrongly")
    parser.add_argument("--only", choices=sorted(SETS), help="report one set only")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to time (default 2)")
    args = parser.parse_args()
    names = [args.only] if args.only else list(SETS)
    all_texts: list[str] = []
    met = True
    for name in names:
        cases = read_cases(SETS[name])
        all_texts += [c.text for c in cases]
        p, r = report(name, cases, args.errors)
        met = met and p >= GOAL and r >= GOAL
    rate = speed(all_texts, args.seconds)
    print(f"\nspeed: {rate:,.0f} sentences/s ({1e6 / rate:.0f} µs each, one core)")
    print(f"goal (escalate precision and recall ≥ {GOAL}): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
