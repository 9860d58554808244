"""A flow → XLSForm rows. What XLSForm has no column for (scores, synonyms, escalation,
explicit `next` branches, units, huifang's own texts) goes into `huifang_*` columns, which
form apps ignore and `from_rows` reads back, so a round trip gives the same flow."""

from __future__ import annotations

from typing import Any

import yaml

from flows.schema import Flow, I18nText, Question
from flows.xlsform.common import LANGS, Cell, column

_BASE = {
    "single_choice": "select_one", "rating": "select_one", "yes_no": "select_one",
    "multi_choice": "select_multiple", "text": "text", "info": "note",
}  # fmt: skip
_YES_NO = {"yes": I18nText(zh="是", en="Yes"), "no": I18nText(zh="否", en="No")}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_NoAliases, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10**6
    ).strip()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _words(words: list[str]) -> str:
    if any("|" in w or w.startswith("[") for w in words):
        return _yaml(words)
    return " | ".join(words)


def _constraint(q: Question) -> str:
    parts = []
    for what, low, high in (
        (".", q.min, q.max),
        ("string-length(.)", q.min_length, q.max_length),
        ("count-selected(.)", q.min_choices, q.max_choices),
    ):
        if low is not None:
            parts.append(f"{what} >= {_number(low)}")
        if high is not None:
            parts.append(f"{what} <= {_number(high)}")
    return " and ".join(parts)


def _texts(row: dict[str, Cell], base: str, text: I18nText | None) -> None:
    if text is not None:
        for lang in LANGS:
            row[column(base, lang)] = text.get(lang)


def _table(records: list[dict[str, Cell]], order: list[str]) -> list[list[Cell]]:
    """Only the columns some row fills, in `order` (the first ones always)."""
    used = [c for i, c in enumerate(order) if i < 2 or any(r.get(c) not in (None, "") for r in records)]
    return [list(used), *[[r.get(c) for c in used] for r in records]]


def _survey_row(q: Question) -> dict[str, Cell]:
    row: dict[str, Cell] = {"name": q.id}
    base = ("integer" if q.integer else "decimal") if q.type in ("number", "nps") else _BASE[q.type]
    row["type"] = f"{base} {q.id}" if base.startswith("select") else base
    codes = {o.code for o in q.options}
    default = "yes_no" if codes == {"yes", "no"} and len(q.options) == 2 else "single_choice"
    if (base == "select_one" and q.type != default) or q.type in ("rating", "nps"):
        row["huifang_type"] = q.type
    _texts(row, "label", q.prompt)
    row["required"] = "" if q.optional or q.type == "info" else "yes"
    row["constraint"] = _constraint(q)
    _texts(row, "huifang_unit", q.unit)
    if q.next is not None:
        row["huifang_next"] = q.next if isinstance(q.next, str) else _yaml(
            [b.model_dump(mode="json", exclude_none=True) for b in q.next]
        )
    if q.escalate is not None:
        rule = q.escalate.model_dump(mode="json", exclude_defaults=True)
        row["huifang_escalate"] = _yaml(rule or {"queue": "general"})
    _texts(row, "huifang_report_label", q.report_label)
    if q.report_groups:
        row["huifang_report_groups"] = _yaml([g.model_dump(mode="json") for g in q.report_groups])
    return row


def to_rows(flow: Flow) -> tuple[list[list[Cell]], list[list[Cell]], list[list[Cell]]]:
    """(survey, choices, settings) rows, header first; every question's choice list is named
    after the question."""
    survey = [_survey_row(q) for q in flow.questions]
    choices: list[dict[str, Cell]] = []
    for q in flow.questions:
        if q.type == "yes_no":
            options: list[tuple[str, I18nText, list[str], int | None]] = [
                (code, label, [], None) for code, label in _YES_NO.items()
            ]
        else:
            options = [(o.code, o.label, o.synonyms, o.score) for o in q.options]
        for code, label, synonyms, score in options:
            row: dict[str, Cell] = {"list_name": q.id, "name": code}
            _texts(row, "label", label)
            row["huifang_score"] = score
            row["huifang_synonyms"] = _words(synonyms) if synonyms else None
            choices.append(row)
    settings: dict[str, Cell] = {"form_id": flow.id, "version": flow.version}
    _texts(settings, "form_title", flow.title)
    settings["kind"] = flow.kind if flow.kind != "survey" else None
    settings["category"] = flow.category.code
    _texts(settings, "category_name", flow.category.name)
    settings["category_aliases"] = _words(flow.category.aliases) if flow.category.aliases else None
    settings["category_order"] = flow.category.order
    for name in ("intro", "consent", "declined", "closing"):
        _texts(settings, name, getattr(flow, name))
    for key, text in flow.messages.items():
        _texts(settings, f"message_{key}", text)

    def langs(*bases: str) -> list[str]:
        return [column(b, lang) for b in bases for lang in LANGS]

    survey_order = ["type", "name", *langs("label"), "required", "constraint", "huifang_type",
                    *langs("huifang_unit"), "huifang_next", "huifang_escalate", *langs("huifang_report_label"),
                    "huifang_report_groups"]  # fmt: skip
    choices_order = ["list_name", "name", *langs("label"), "huifang_score", "huifang_synonyms"]
    settings_order = ["form_id", "version", *langs("form_title"), "kind", "category", *langs("category_name"),
                      "category_aliases", "category_order", *langs("intro", "consent", "declined", "closing"),
                      *langs(*[f"message_{k}" for k in flow.messages])]  # fmt: skip
    return _table(survey, survey_order), _table(choices, choices_order), _table([settings], settings_order)
