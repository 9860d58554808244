"""XLSForm rows → a flow definition (the dict a flow file holds), or errors naming sheet and row.

Nothing is guessed: a feature a chat survey cannot honour exactly (groups, repeats,
calculations, most constraints, hints, media, other languages) is refused where it is written.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from flows.lint import lint
from flows.loader import read_source, validate_source
from flows.schema import END
from flows.source import Source
from flows.xlsform import relevant as rel
from flows.xlsform.common import (
    CHOICES,
    LANG_NAME,
    LANGS,
    MAX_CELL_CHARS,
    MAX_ROWS,
    SETTINGS,
    SURVEY,
    Cell,
    Rows,
    XlsError,
    column,
    split_column,
)

# Columns whose languages are read as I18n texts, per sheet.
_TEXTS = {
    SURVEY: {"label", "huifang_unit", "huifang_report_label", "constraint_message"},
    CHOICES: {"label"},
    SETTINGS: {"form_title", "category_name", "intro", "consent", "declined", "closing"},
}
_PLAIN = {
    SURVEY: {"type", "name", "required", "relevant", "constraint", "huifang_type", "huifang_next", "huifang_escalate",
             "huifang_report_groups"},
    CHOICES: {"list_name", "name", "huifang_score", "huifang_synonyms"},
    SETTINGS: {"form_id", "version", "kind", "category", "category_aliases", "category_order"},
}
# Standard XLSForm columns that only change how a form looks in a form app: nothing to lose.
_IGNORED = {
    SURVEY: {"appearance", "constraint_message"},
    CHOICES: set(),
    SETTINGS: {"style", "default_language", "instance_name", "allow_choice_duplicates", "clean_text_values",
               "public_key", "submission_url"},
}  # fmt: skip
# Standard columns with a meaning huifang cannot keep: refused on each row that fills them.
_REFUSED = {
    SURVEY: {
        "hint": "提示文字不支持，请写进题目 hints are not supported: put the text in the label",
        "guidance_hint": "提示文字不支持 guidance hints are not supported",
        "required_message": "自定义必答提示不支持 required_message is not supported",
        "calculation": "计算不支持 calculations are not supported",
        "default": "默认值不支持 default values are not supported",
        "choice_filter": "选项筛选不支持 choice_filter is not supported",
        "read_only": "只读题不支持 read_only is not supported",
        "repeat_count": "重复组不支持 repeats are not supported",
        "parameters": "参数不支持 parameters are not supported",
        "trigger": "触发器不支持 trigger is not supported",
        "media": "图片音视频不支持 media are not supported",
        "image": "图片不支持 images are not supported",
        "audio": "音频不支持 audio is not supported",
        "video": "视频不支持 video is not supported",
        "body": "body 属性不支持 body attributes are not supported",
        "bind": "bind 属性不支持 bind attributes are not supported",
    },
    CHOICES: {
        "media": "图片音视频不支持 media are not supported",
        "image": "图片不支持 images are not supported",
        "audio": "音频不支持 audio is not supported",
        "video": "视频不支持 video is not supported",
    },
    SETTINGS: {},
}
_METADATA = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username",
             "email", "audit", "start-geopoint"}  # fmt: skip
_STRUCTURE = re.compile(r"^(begin|end)[ _](group|repeat)$")
_MESSAGE_COLUMN = re.compile(r"^message_([a-z][a-z0-9_]*)$")
_HUIFANG_TYPES = {
    "select_one": {"single_choice", "rating", "yes_no"},
    "select_multiple": {"multi_choice"},
    "integer": {"number", "nps"},
    "decimal": {"number", "nps"},
    "text": {"text"},
    "note": {"info"},
}
_DEFAULT_TYPE = {"select_multiple": "multi_choice", "integer": "number", "decimal": "number", "text": "text",
                 "note": "info"}  # fmt: skip
_TRUE = {"yes", "true", "true()", "1", "y", "是"}
_FALSE = {"", "no", "false", "false()", "0", "n", "否"}


def text_of(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class Row:
    number: int
    plain: dict[str, str] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # base → lang → text

    def get(self, name: str) -> str:
        return self.plain.get(name, "")


class _Reader:
    def __init__(self) -> None:
        self.errors: list[XlsError] = []
        self.where: dict[str, tuple[str, int]] = {}  # definition path → sheet and row

    def err(self, sheet: str, row: int | None, message: str) -> None:
        e = XlsError(sheet, row, message)
        if e not in self.errors:
            self.errors.append(e)

    def sheet(self, name: str, rows: Rows) -> list[Row]:
        rows = [list(r) for r in rows]
        if len(rows) > MAX_ROWS:
            self.err(name, MAX_ROWS + 1, f"行数过多 too many rows: at most {MAX_ROWS} per sheet")
            return []
        if not rows:
            return []
        header = [text_of(c) for c in rows[0]]
        used = [any(i < len(r) and text_of(r[i]) for r in rows[1:]) for i in range(len(header))]
        columns: dict[int, tuple[str, str | None]] = {}
        seen: set[str] = set()
        for i, h in enumerate(header):
            if not h:
                if used[i]:
                    self.err(name, 1, f"第 {i + 1} 列没有列名 column {i + 1} has values but no header")
                continue
            base, lang, other = split_column(h)
            key = f"{base}::{lang}" if lang else base
            if key in seen:
                self.err(name, 1, f"重复的列 duplicate column '{h}'")
                continue
            seen.add(key)
            if not used[i] or base in _IGNORED[name]:
                continue
            if other is not None:
                self.err(
                    name, 1,
                    f"只支持中文 (zh) 和英文 (en) "
                    f"only Chinese (zh) and English (en) are supported: '{h}'"
                )
            elif base in _REFUSED[name]:
                columns[i] = (base, lang)
            elif base in _TEXTS[name] or (name == SETTINGS and _MESSAGE_COLUMN.match(base)):
                if lang is None:
                    self.err(
                        name, 1,
                        f"'{h}' 需要注明语言 "
                        f"needs a language: use '{column(base, 'zh')}' and '{column(base, 'en')}'"
                    )
                else:
                    columns[i] = (base, lang)
            elif base in _PLAIN[name] and lang is None:
                columns[i] = (base, None)
            else:
                self.err(name, 1, f"未知的列 unknown column '{h}'")
        out = []
        for n, cells in enumerate(rows[1:], start=2):
            row = Row(n)
            for i, (base, lang) in columns.items():
                value = text_of(cells[i]) if i < len(cells) else ""
                if not value:
                    continue
                if len(value) > MAX_CELL_CHARS:
                    self.err(name, n, f"'{header[i]}' 太长 too long: at most {MAX_CELL_CHARS} characters")
                    continue
                if "\ufffd" in value:
                    self.err(name, n, f"'{header[i]}' 有乱码 has garbled text (U+FFFD): saved in the wrong encoding?")
                    continue
                if base in _REFUSED[name]:
                    self.err(name, n, f"{header[i]}: {_REFUSED[name][base]}")
                elif lang is None:
                    row.plain[base] = value
                else:
                    row.texts.setdefault(base, {})[lang] = value
            if row.plain or row.texts:
                out.append(row)
        return out

    def i18n(self, sheet: str, row: Row, base: str, *, required: bool = True) -> dict[str, str] | None:
        found = row.texts.get(base, {})
        if not found:
            if required:
                self.err(sheet, row.number, f"缺少 missing {column(base, 'zh')} / {column(base, 'en')}")
            return None
        for lang in LANGS:
            if lang not in found:
                self.err(sheet, row.number, f"缺少{LANG_NAME[lang]} missing {column(base, lang)}")
                return None
        return {lang: found[lang] for lang in LANGS}

    def yaml_cell(self, sheet: str, row: Row, name: str) -> Any:
        src, errors = read_source(f"{sheet}:{row.number}", row.get(name))
        # read_source wants a whole flow; a cell holds a list or a name just as well.
        errors = [e for e in errors if not e.message.startswith("a flow file must be a mapping")]
        if errors:
            self.err(sheet, row.number, f"{name}: 不是有效的 YAML not valid YAML: {errors[0].message}")
            return None
        return src.data


def _list_cell(text: str, reader: _Reader, sheet: str, row: Row, name: str) -> list[str] | None:
    """`a | b | c`, or a YAML list `[a, "b|c"]` when a word holds a `|`."""
    if text.startswith("["):
        data = reader.yaml_cell(sheet, row, name)
        if not isinstance(data, list) or not all(isinstance(x, str | int | float) for x in data):
            reader.err(sheet, row.number, f"{name}: 应为列表 expected a list like [a, b]")
            return None
        return [str(x) for x in data]
    return [part.strip() for part in text.split("|") if part.strip()]


def _int(text: str, reader: _Reader, sheet: str, row: Row, name: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        reader.err(sheet, row.number, f"{name}: 应为整数 expected a whole number, not '{text}'")
        return None


_CONSTRAINT = re.compile(
    r"^(?P<what>\.|string-length\(\s*\.\s*\)|count-selected\(\s*\.\s*\))\s*(?P<op>>=|<=|>|<|=)\s*(?P<num>-?\d+(?:\.\d+)?)$"
)


def _constraint(text: str, q: dict[str, Any], base: str) -> str | None:
    """Bounds written as a constraint become the question's bounds; None when all were read."""
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _CONSTRAINT.match(part.strip())
        if m is None:
            return (
                f"无法遵守的约束 constraint cannot be honoured: '{part.strip()}' (only `. >= n`, `. <= n`, "
                "`string-length(.) <= n`, `count-selected(.) <= n`, joined by `and`)"
            )
        what, op, value = m.group("what"), m.group("op"), float(m.group("num"))
        if what == ".":
            low, high, whole = "min", "max", base == "integer"
        elif what.startswith("string"):
            low, high, whole = "min_length", "max_length", True
        else:
            low, high, whole = "min_choices", "max_choices", True
        if op in (">", "<"):
            if not whole:
                return f"小数不能用 {op} a decimal bound must be inclusive: use {op}= ('{part.strip()}')"
            value = value + 1 if op == ">" else value - 1
        if whole and not value.is_integer():
            return f"应为整数 a whole number is expected in '{part.strip()}'"
        number: int | float = int(value) if value.is_integer() else value
        if op in (">=", ">", "="):
            q[low] = number
        if op in ("<=", "<", "="):
            q[high] = number
    return None


@dataclass
class _Question:
    row: int
    data: dict[str, Any]
    relevant: str = ""
    explicit_next: bool = False
    dnf: rel.Dnf | None = None
    option_rows: list[int] = field(default_factory=list)


def from_rows(
    survey_rows: Rows, choices_rows: Rows, settings_rows: Rows
) -> tuple[dict[str, Any] | None, list[XlsError]]:
    """The flow an XLSForm describes, checked like a flow file; (None, errors) when anything
    in it is refused. Rows are the sheets' cells, header first (row 1)."""
    r = _Reader()
    survey = r.sheet(SURVEY, survey_rows)
    choices = r.sheet(CHOICES, choices_rows)
    settings = r.sheet(SETTINGS, settings_rows)
    if not survey_rows:
        r.err(SURVEY, None, "缺少 survey 表 the survey sheet is missing or empty")
    if not settings:
        r.err(SETTINGS, None, "缺少 settings 表 the settings sheet (form_id, texts) is missing or empty")
    if r.errors:
        return None, r.errors

    lists: dict[str, list[tuple[Row, dict[str, Any]]]] = {}
    for row in choices:
        list_name, code = row.get("list_name"), row.get("name")
        if not list_name or not code:
            r.err(CHOICES, row.number, "需要 list_name 和 name a choice needs list_name and name")
            continue
        option: dict[str, Any] = {"code": code}
        label = r.i18n(CHOICES, row, "label")
        if label:
            option["label"] = label
        if row.get("huifang_synonyms"):
            synonyms = _list_cell(row.get("huifang_synonyms"), r, CHOICES, row, "huifang_synonyms")
            if synonyms:
                option["synonyms"] = synonyms
        if row.get("huifang_score"):
            option["score"] = _int(row.get("huifang_score"), r, CHOICES, row, "huifang_score")
        lists.setdefault(list_name, []).append((row, option))

    questions: list[_Question] = []
    for row in survey:
        q = _question(r, row, lists)
        if q is not None:
            questions.append(q)
    if not questions and not r.errors:
        r.err(SURVEY, None, "没有问题 the survey has no questions")
    definition = _settings(r, settings[0]) if settings else {}
    for extra in settings[1:]:
        r.err(SETTINGS, extra.number, "settings 表只能有一行 the settings sheet takes one row under its header")
    if r.errors:
        return None, r.errors
    _branching(r, questions)
    if r.errors:
        return None, r.errors
    definition["questions"] = [q.data for q in questions]
    for i, q in enumerate(questions):
        r.where[f"questions[{i}]"] = (SURVEY, q.row)
        for j, number in enumerate(q.option_rows):
            r.where[f"questions[{i}].options[{j}]"] = (CHOICES, number)
    return _checked(r, definition)


def _question(r: _Reader, row: Row, lists: dict[str, list[tuple[Row, dict[str, Any]]]]) -> _Question | None:
    n = row.number
    kind = " ".join(row.get("type").split())
    words = kind.split(" ")
    base = words[0].lower() if words[0] else ""
    if not base:
        r.err(SURVEY, n, "缺少题型 missing type")
        return None
    if base in _METADATA and len(words) == 1:
        return None  # filled in by a form app on a phone; a chat has nothing to ask
    if _STRUCTURE.match(kind.lower()):
        r.err(SURVEY, n, f"'{kind}': 分组和重复组不支持，请把问题放在最外层 "
            "groups and repeats are not supported: put the questions at the top level"
        )
        return None
    if base in ("calculate", "hidden"):
        r.err(SURVEY, n, f"'{kind}': 计算字段不支持 calculations are not supported")
        return None
    if base == "rank":
        r.err(SURVEY, n, "'rank': 排序题不支持 ranking is not supported")
        return None
    if base not in _HUIFANG_TYPES:
        r.err(SURVEY, n, f"不支持的题型 unsupported type '{kind}' "
            "(supported: select_one, select_multiple, integer, decimal, text, note)"
        )
        return None
    choice = base in ("select_one", "select_multiple")
    if choice and (len(words) != 2 or words[1].lower() == "or_other"):
        if len(words) > 2 or (len(words) == 2 and words[1].lower() == "or_other"):
            r.err(SURVEY, n, f"'{kind}': or_other 不支持 or_other is not supported: add an option instead")
        else:
            r.err(SURVEY, n, f"'{kind}': 缺少选项列表名 missing the choice list's name")
        return None
    if not choice and len(words) > 1:
        r.err(SURVEY, n, f"不支持的题型 unsupported type '{kind}'")
        return None
    qid = row.get("name")
    if not qid:
        r.err(SURVEY, n, "缺少 name missing name (the question's id)")
        return None
    q: dict[str, Any] = {"id": qid}
    huifang_type = row.get("huifang_type")
    if huifang_type and huifang_type not in _HUIFANG_TYPES[base]:
        allowed = ", ".join(sorted(_HUIFANG_TYPES[base]))
        r.err(SURVEY, n, f"huifang_type '{huifang_type}' 与 '{base}' 不符 does not fit '{base}' (use {allowed})")
        return None
    options: list[dict[str, Any]] = []
    option_rows: list[int] = []
    if choice:
        list_name = words[1]
        if list_name not in lists:
            r.err(SURVEY, n, f"choices 表中没有列表 the choices sheet has no list '{list_name}'")
            return None
        options = [copy.deepcopy(opt) for _, opt in lists[list_name]]
        option_rows = [choice_row.number for choice_row, _ in lists[list_name]]
        codes = {opt["code"] for opt in options}
        if not huifang_type:
            yes_no = base == "select_one" and codes == {"yes", "no"} and len(options) == 2
            huifang_type = "multi_choice" if base == "select_multiple" else "yes_no" if yes_no else "single_choice"
        if huifang_type == "yes_no" and (codes != {"yes", "no"} or len(options) != 2):
            r.err(
                SURVEY, n,
                f"yes_no 的选项必须正好是 "
                f"yes 和 no a yes_no list must be exactly yes and no ('{list_name}')"
            )
            return None
    q["type"] = huifang_type or _DEFAULT_TYPE[base]
    label = r.i18n(SURVEY, row, "label")
    if label:
        q["prompt"] = label
    if options and q["type"] != "yes_no":
        q["options"] = options
    required = row.get("required").lower()
    if required not in _TRUE | _FALSE:
        r.err(SURVEY, n, f"required: 应为 yes 或留空 expected yes or blank, not '{row.get('required')}' "
            "(expressions are not supported)"
        )
    elif required in _FALSE and q["type"] != "info":
        q["optional"] = True  # XLSForm's default: a question is optional unless required
    if base == "decimal":
        q["integer"] = False
    if row.get("constraint"):
        problem = _constraint(row.get("constraint"), q, base)
        if problem:
            r.err(SURVEY, n, problem)
    unit = r.i18n(SURVEY, row, "huifang_unit", required=False)
    if unit:
        q["unit"] = unit
    if row.get("huifang_escalate"):
        q["escalate"] = r.yaml_cell(SURVEY, row, "huifang_escalate")
    report_label = r.i18n(SURVEY, row, "huifang_report_label", required=False)
    if report_label:
        q["report_label"] = report_label
    if row.get("huifang_report_groups"):
        q["report_groups"] = r.yaml_cell(SURVEY, row, "huifang_report_groups")
    explicit = bool(row.get("huifang_next"))
    if explicit:
        q["next"] = r.yaml_cell(SURVEY, row, "huifang_next")
    return _Question(n, q, row.get("relevant"), explicit, option_rows=option_rows)


def _settings(r: _Reader, row: Row) -> dict[str, Any]:
    n = row.number
    d: dict[str, Any] = {}
    if not row.get("form_id"):
        r.err(SETTINGS, n, "缺少 form_id missing form_id (the flow's id)")
    d["id"] = row.get("form_id")
    d["version"] = _int(row.get("version"), r, SETTINGS, row, "version") if row.get("version") else 1
    if row.get("kind"):
        d["kind"] = row.get("kind")
    category: dict[str, Any] = {"code": row.get("category") or row.get("form_id")}
    category["name"] = r.i18n(SETTINGS, row, "category_name")
    if row.get("category_aliases"):
        category["aliases"] = _list_cell(row.get("category_aliases"), r, SETTINGS, row, "category_aliases")
    if row.get("category_order"):
        category["order"] = _int(row.get("category_order"), r, SETTINGS, row, "category_order")
    d["category"] = category
    d["title"] = r.i18n(SETTINGS, row, "form_title")
    texts = ("intro", "consent", "declined", "closing")
    required_texts = ("intro", "closing") if row.get("kind") == "followup" else texts
    for name in ("intro", "consent", "declined", "closing"):
        text = r.i18n(SETTINGS, row, name, required=name in required_texts)
        if text:
            d[name] = text
    messages = {}
    for base in sorted(row.texts):
        m = _MESSAGE_COLUMN.match(base)
        if m:
            messages[m.group(1)] = r.i18n(SETTINGS, row, base)
    if messages:
        d["messages"] = messages
    r.where[""] = (SETTINGS, n)
    return d


def _target(q: dict[str, Any]) -> rel.Target | None:
    t = q["type"]
    if t == "yes_no":
        return rel.Target(rel.SINGLE, frozenset({"yes", "no"}))
    codes = frozenset(o["code"] for o in q.get("options", []))
    if t in ("single_choice", "rating"):
        return rel.Target(rel.SINGLE, codes)
    if t == "multi_choice":
        return rel.Target(rel.MULTI, codes)
    if t in ("number", "nps"):
        return rel.Target(rel.INTEGER if q.get("integer", True) else rel.DECIMAL, codes)
    if t == "text":
        return rel.Target(rel.TEXT, codes)
    return None  # info: a note has no answer


def _gotos(next_: Any) -> list[str]:
    if isinstance(next_, str):
        return [next_]
    if isinstance(next_, list):
        return [b["goto"] for b in next_ if isinstance(b, dict) and isinstance(b.get("goto"), str)]
    return []


def _branching(r: _Reader, questions: list[_Question]) -> None:
    """Each `relevant` becomes branches on the questions before it (see flows.xlsform.relevant)."""
    index = {q.data["id"]: i for i, q in enumerate(questions)}
    targets = {qid: t for qid, i in index.items() if (t := _target(questions[i].data)) is not None}
    for i, q in enumerate(questions):
        if not q.relevant:
            continue
        try:
            node = rel.parse(q.relevant)
            for ref in rel.references(node):
                if ref not in index:
                    raise rel.RelevantError(f"没有这个问题 there is no question ${{{ref}}}")
                if index[ref] >= i:
                    raise rel.RelevantError(
                        f"${{{ref}}} 在本题或之后 "
                        f"is this question or a later one: it has no answer yet"
                    )
                if ref not in targets:
                    raise rel.RelevantError(f"${{{ref}}} 是说明，没有答案 is a note: it has no answer")
            q.dnf = rel.to_dnf(node, targets)
        except rel.RelevantError as exc:
            r.err(SURVEY, q.row, f"relevant: {exc}")
    for q in questions:
        for goto in _gotos(q.data.get("next")):
            if goto in index and questions[index[goto]].relevant:
                r.err(
                    SURVEY, q.row,
                    f"huifang_next 跳到有 "
                    f"relevant 的问题 goes to '{goto}', which has a relevant: use one or the other"
                )
    if r.errors:
        return
    for i, q in enumerate(questions):
        following = questions[i + 1] if i + 1 < len(questions) else None
        if following is None or following.dnf is None:
            continue
        if q.explicit_next:
            r.err(
                SURVEY, following.row,
                f"relevant 与上一题的 "
                f"huifang_next 冲突 conflicts with the huifang_next of '{q.data['id']}'"
            )
            continue
        q.data["next"] = _decision_list(r, questions, i)


def _decision_list(r: _Reader, questions: list[_Question], i: int) -> list[dict[str, Any]] | str:
    """Where to go after question i: the first later question whose relevant holds (the ones
    passed over were skipped, so their answers are empty), else the first without one."""
    branches: list[dict[str, Any]] = []
    skipped: set[str] = set()
    targets = {q.data["id"]: t for q in questions if (t := _target(q.data)) is not None}
    for later in questions[i + 1:]:
        goto = later.data["id"]
        if later.dnf is None:
            branches.append({"goto": goto})
            break
        always = False
        for conj in later.dnf:
            kept = []
            possible = True
            for lit in conj:
                if lit[0] in skipped:
                    possible = possible and rel.when_skipped(lit)
                else:
                    kept.append(lit)
            if not possible:
                continue
            if not kept:
                always = True
                break
            try:
                cond = rel.merge(kept, targets)
            except rel.RelevantError as exc:
                r.err(SURVEY, later.row, f"relevant: {exc}")
                continue
            if cond is not None and {"when": cond, "goto": goto} not in branches:
                branches.append({"when": cond, "goto": goto})
        if always:
            branches.append({"goto": goto})
            break
        skipped.add(goto)
    else:
        branches.append({"goto": END})
    if len(branches) == 1:
        return str(branches[0]["goto"])
    return branches


def _checked(r: _Reader, definition: dict[str, Any]) -> tuple[dict[str, Any] | None, list[XlsError]]:
    """The schema's and the linter's verdict, each error placed on the row it came from."""
    src = Source(name="xlsform", text="", data=definition)
    flow, errors = validate_source(src)
    if flow is not None:
        errors = lint(flow, src)
    for e in errors:
        sheet, row = _locate(r, definition, e.path)
        r.err(sheet, row, f"{e.path}: {e.message}" if e.path else e.message)
    return (None, r.errors) if r.errors else (definition, [])


def _locate(r: _Reader, definition: dict[str, Any], path: str) -> tuple[str, int]:
    m = re.match(r"^questions\[(\d+)\]\.options\[(\d+)\]", path)
    if m:
        # Options come from the choices sheet; find the row by list order.
        fallback = r.where.get(f"questions[{m.group(1)}]", r.where[""])
        return r.where.get(f"questions[{m.group(1)}].options[{m.group(2)}]", fallback)
    m = re.match(r"^questions\[(\d+)\]", path)
    if m:
        return r.where.get(f"questions[{m.group(1)}]", r.where[""])
    return r.where[""]
