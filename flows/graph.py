"""The shape of a flow: where each question may lead. Shared by the linter and the machine."""

from __future__ import annotations

from dataclasses import dataclass

from flows.schema import END, Branch, Flow


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    branch: Branch | None  # None: the implicit "next question in the file"
    index: int | None  # position in the question's `next` list, for error paths


def edges(flow: Flow) -> list[Edge]:
    """Every possible move, in the order the engine tries them (first match wins)."""
    out: list[Edge] = []
    questions = flow.questions
    for i, q in enumerate(questions):
        following = questions[i + 1].id if i + 1 < len(questions) else END
        if q.next is None:
            out.append(Edge(q.id, following, None, None))
        elif isinstance(q.next, str):
            out.append(Edge(q.id, q.next, Branch(goto=q.next), None))
        else:
            for j, branch in enumerate(q.next):
                out.append(Edge(q.id, branch.goto, branch, j))
            if all(b.when is not None for b in q.next):
                # No branch matched: carry on in file order rather than get stuck.
                out.append(Edge(q.id, following, None, None))
    return out


def successors(flow: Flow) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {q.id: [] for q in flow.questions}
    for e in edges(flow):
        if e.target not in succ[e.source]:
            succ[e.source].append(e.target)
    return succ
