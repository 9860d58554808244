"""Checks that need the whole flow: references, reachability, cycles, duplicates."""

from __future__ import annotations

from flows.graph import edges, successors
from flows.messages import DEFAULTS
from flows.render import placeholders
from flows.schema import CHOICE_TYPES, END, NO, REPORT_GROUP_TYPES, YES, Flow, I18nText, Question
from flows.source import FlowError, Source


def _codes(q: Question) -> set[str]:
    if q.type == "yes_no":
        return {YES, NO}
    return {o.code for o in q.options}


def lint(flow: Flow, src: Source) -> list[FlowError]:
    errors: list[FlowError] = []

    def err(path: str, message: str) -> None:
        errors.append(FlowError(src.name, src.line_of(path), path, message))

    index: dict[str, int] = {}
    for i, q in enumerate(flow.questions):
        if q.id in index:
            err(f"questions[{i}].id", f"duplicate question id '{q.id}' (first at questions[{index[q.id]}])")
        else:
            index[q.id] = i
        if q.id == END:
            err(f"questions[{i}].id", f"'{END}' is reserved for closing the survey")
        seen_codes: set[str] = set()
        for j, opt in enumerate(q.options):
            if opt.code in seen_codes:
                err(f"questions[{i}].options[{j}].code", f"duplicate option code '{opt.code}'")
            seen_codes.add(opt.code)
        if q.escalate is not None:
            for k, code in enumerate(q.escalate.on_options):
                if code not in _codes(q):
                    err(f"questions[{i}].escalate.on_options[{k}]", f"unknown option '{code}'")
            if q.escalate.on_options and q.type not in CHOICE_TYPES | {"yes_no"}:
                err(f"questions[{i}].escalate.on_options", f"a {q.type} question has no options")
        if q.report_groups and q.type not in REPORT_GROUP_TYPES:
            kinds = ", ".join(sorted(REPORT_GROUP_TYPES))
            err(f"questions[{i}].report_groups", f"report groups are for {kinds} questions, not {q.type}")
        else:
            for g, group in enumerate(q.report_groups):
                for k, code in enumerate(group.codes):
                    if code not in _codes(q):
                        err(f"questions[{i}].report_groups[{g}].codes[{k}]", f"unknown option '{code}'")

    if flow.kind == "survey":
        # Only a followup flow's session has values to fill them with: in a survey a
        # `{name}` would reach the respondent as written.
        texts: list[tuple[str, I18nText | None]] = [
            (name, getattr(flow, name)) for name in ("intro", "consent", "declined", "closing")
        ]
        texts += [(f"questions[{i}].prompt", q.prompt) for i, q in enumerate(flow.questions)]
        for path, value in texts:
            for lang in ("zh", "en"):
                found = placeholders(value.get(lang)) if value is not None else []
                if found:
                    err(f"{path}.{lang}", f"placeholder {{{found[0]}}} is filled only in a followup flow")

    for key in flow.messages:
        if key not in DEFAULTS:
            err(f"messages.{key}", f"unknown message '{key}' (known: {', '.join(sorted(DEFAULTS))})")

    for e in edges(flow):
        i = index[e.source]
        base = f"questions[{i}].next" + (f"[{e.index}]" if e.index is not None else "")
        if e.branch is not None and e.target != END and e.target not in index:
            err(f"{base}.goto" if e.index is not None else base, f"unknown question '{e.target}'")
        when = e.branch.when if e.branch else None
        if when is None:
            continue
        if when.question not in index:
            err(f"{base}.when.question", f"unknown question '{when.question}'")
            continue
        ref = flow.questions[index[when.question]]
        for field in ("any_of", "none_of"):
            for k, code in enumerate(getattr(when, field) or []):
                if code not in _codes(ref):
                    err(f"{base}.when.{field}[{k}]", f"'{ref.id}' has no option '{code}'")
        if index[when.question] > i:
            err(f"{base}.when.question", f"'{ref.id}' is asked later, so it has no answer yet")

    for i, q in enumerate(flow.questions):
        if isinstance(q.next, list):
            fallbacks = [j for j, b in enumerate(q.next) if b.when is None]
            if fallbacks and fallbacks[0] != len(q.next) - 1:
                never = "never taken: an earlier branch without `when` always matches"
                err(f"questions[{i}].next[{fallbacks[0] + 1}]", never)

    if errors:
        return errors  # the graph checks below assume valid references

    succ = successors(flow)
    reached: set[str] = set()
    todo = [flow.questions[0].id]
    while todo:
        qid = todo.pop()
        if qid in reached or qid == END:
            continue
        reached.add(qid)
        todo.extend(succ[qid])
    for i, q in enumerate(flow.questions):
        if q.id not in reached:
            err(f"questions[{i}].id", f"question '{q.id}' can never be reached")

    cycle = _find_cycle(succ, flow.questions[0].id)
    if cycle:
        i = index[cycle[-2]]
        err(f"questions[{i}].next", "cycle: " + " → ".join(cycle) + " (a survey must always move on)")
    return errors


def _find_cycle(succ: dict[str, list[str]], start: str) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in succ.get(node, []):
            if nxt == END:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in [start, *succ]:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
