"""A flow's compiled machine drawn as SVG, for the console's flow editor.

Drawn from `machine_spec` (the states and guarded transitions the engine's Machine is built
from), so the picture is what the engine will do, not a second reading of the YAML.

Laid out by hand rather than by a graph-layout library: a survey is a list of questions that
people know in file order, so the states stay one column in that order (the start, the
questions, the end, declined); the move to the next one is an arrow straight down and every
other move (a branch, a skip, the end) is a bracket on the right side, in its own lane where
brackets overlap, labelled with its condition at the far right. A general layered layout
(Graphviz, ELK, Mermaid) would reorder the questions, needs a binary or a large script, and
Mermaid's inline styles would break under the console's CSP.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape

from flows.machine import CONSENT, DECLINED, END, machine_spec
from flows.schema import Flow

NODE_X = 8
NODE_W = 250
MIN_NODE_H = 46
GAP = 22  # between one state's box and the next
LANE_W = 14
OUT_STEP = 13  # between the side edges leaving one box
FONT = 13
LABEL_FONT = 12
PROMPT_WIDTH = 34  # the prompt's width inside a box, in half-width columns


@dataclass(frozen=True, slots=True)
class _Move:
    source: str
    target: str
    label: str | None  # the guard, None when unconditional
    otherwise: bool  # unconditional after guarded branches of the same state


def _width(text: str) -> int:
    """Columns: a CJK character takes two, as on screen."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, columns: int) -> str:
    out, used = "", 0
    for ch in text:
        used += _width(ch)
        if used > columns - 1:
            return out + "…"
        out += ch
    return out


def _moves(flow: Flow) -> tuple[list[str], list[_Move]]:
    states, transitions = machine_spec(flow)
    guarded: set[str] = set()
    moves = []
    for t in transitions:
        conditions = t.get("conditions") or []
        label = " and ".join(c.__name__ for c in conditions) or None
        if t["trigger"] == "refuse":
            label = "拒绝 refuses"
        otherwise = label is None and t["source"] in guarded
        if label is not None and t["trigger"] == "advance":
            guarded.add(t["source"])
        moves.append(_Move(t["source"], t["dest"], label, otherwise))
    return states, moves


def _caption(flow: Flow, state: str) -> tuple[str, str, str]:
    """(class, first line, second line) of a state's box."""
    if state == CONSENT:
        return "start", "开始 start", "征得同意 consent" if flow.consent is not None else "直接开始 begins at once"
    if state == END:
        return "end", "结束 end", _clip(flow.closing.zh, PROMPT_WIDTH)
    if state == DECLINED:
        return "declined", "拒绝 declined", _clip(flow.declined.zh if flow.declined else "", PROMPT_WIDTH)
    question = next(q for q in flow.questions if q.id == state)
    optional = " · 可选 optional" if question.optional else ""
    return "question", f"{question.id} · {question.type}{optional}", _clip(question.prompt.zh, PROMPT_WIDTH)


def flow_svg(flow: Flow, *, id_prefix: str = "d") -> str:
    """The diagram as an <svg> element (no script, no inline style: classes only)."""
    states, moves = _moves(flow)
    row = {state: i for i, state in enumerate(states)}
    down = [m for m in moves if row[m.target] == row[m.source] + 1 and m.label is None]
    side = [m for m in moves if m not in down]
    leaving: dict[str, list[_Move]] = {s: [m for m in side if m.source == s] for s in states}

    heights = {s: max(MIN_NODE_H, 18 + OUT_STEP * len(leaving[s])) for s in states}
    tops: dict[str, int] = {}
    y = 8
    for s in states:
        tops[s] = y
        y += heights[s] + GAP
    total_h = y

    # Lanes: an edge spans the rows between its ends; overlapping spans take different lanes.
    lanes: dict[int, int] = {}
    taken: list[list[tuple[int, int]]] = []
    for i, m in sorted(enumerate(side), key=lambda im: abs(row[im[1].target] - row[im[1].source])):
        span = (min(row[m.source], row[m.target]), max(row[m.source], row[m.target]))
        for lane, spans in enumerate(taken):
            if all(span[1] < a or span[0] > b for a, b in spans):
                spans.append(span)
                lanes[i] = lane
                break
        else:
            taken.append([span])
            lanes[i] = len(taken) - 1
    right = NODE_X + NODE_W
    label_x = right + 18 + LANE_W * len(taken) + 6
    labels = []
    for m in side:
        arrow = f"→ {m.target}"
        if m.label:
            labels.append(f"{arrow}  如果 if {m.label}")
        else:
            labels.append(f"{arrow}  否则 otherwise" if m.otherwise else arrow)
    total_w = label_x + max([_width(t) for t in labels] + [0]) * LABEL_FONT * 0.55 + 12

    marker = f"{id_prefix}-arrow"
    title = f"{flow.title.zh} / {flow.title.en}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" role="img" '
        f'viewBox="0 0 {int(total_w)} {total_h}" width="{int(total_w)}" height="{total_h}" '
        f'aria-label="流程图 Diagram: {escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for s in states:
        kind, first, second = _caption(flow, s)
        top, h = tops[s], heights[s]
        full = first if kind != "question" else f"{first}\n{next(q for q in flow.questions if q.id == s).prompt.zh}"
        out.append(
            f'<g class="node node-{kind}" data-state="{escape(s)}"><title>{escape(full)}</title>'
            f'<rect x="{NODE_X}" y="{top}" width="{NODE_W}" height="{h}" rx="8"/>'
            f'<text x="{NODE_X + 10}" y="{top + 18}" class="node-id">{escape(first)}</text>'
            f'<text x="{NODE_X + 10}" y="{top + 36}" class="node-text">{escape(second)}</text></g>'
        )
    mid_x = NODE_X + NODE_W // 2
    for m in down:
        y1, y2 = tops[m.source] + heights[m.source], tops[m.target]
        out.append(f'<path class="edge" d="M{mid_x},{y1} L{mid_x},{y2 - 1}" marker-end="url(#{marker})"/>')
        if m.otherwise:
            out.append(f'<text class="edge-label" x="{mid_x + 6}" y="{y1 + 14}">否则 otherwise</text>')
    for i, (m, label) in enumerate(zip(side, labels, strict=True)):
        k = leaving[m.source].index(m)
        y1 = tops[m.source] + 12 + OUT_STEP * k
        y2 = tops[m.target] + heights[m.target] - 10
        lane_x = right + 18 + LANE_W * lanes[i]
        cls = "edge branch" if m.label else "edge"
        out.append(
            f'<path class="{cls}" d="M{right},{y1} L{lane_x},{y1} L{lane_x},{y2} L{right + 1},{y2}" '
            f'marker-end="url(#{marker})"/>'
            f'<path class="leader" d="M{lane_x},{y1} L{label_x - 3},{y1}"/>'
            f'<text class="edge-label" x="{label_x}" y="{y1 + 4}">{escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
