"""XLSForm workbooks through bot.services.xlsform and `huifang flows import/export`: real
.xlsx files written with openpyxl in the XLSForm spec's layout."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from bot.cli import main
from bot.services.xlsform import MAX_BYTES, XlsFormError, import_workbook, workbook_bytes
from flows.loader import default_flow_paths, load_flow, load_text
from flows.schema import Flow
from flows.xlsform import MAX_ROWS

ZH, EN = "label::中文 (zh)", "label::English (en)"
SURVEY: list[list[Any]] = [
    ["type", "name", ZH, EN, "required", "relevant"],
    ["start", "start", None, None, None, None],
    ["select_one good_bad", "overall", "您对救助总体评价怎么样？", "Overall, how was the aid?", "yes", None],
    ["text", "why_unhappy", "哪里让您不满意？", "What was not good?", None, "${overall} = 'poor'"],
    ["integer", "household", "家里有几口人？", "How many people live in your home?", "yes", None],
]
CHOICES: list[list[Any]] = [
    ["list_name", "name", ZH, EN],
    ["good_bad", "good", "好", "Good"],
    ["good_bad", "poor", "不好", "Poor"],
]
SETTINGS: list[list[Any]] = [
    ["form_id", "version", "form_title::中文 (zh)", "form_title::English (en)", "category",
     "category_name::中文 (zh)", "category_name::English (en)", "intro::中文 (zh)", "intro::English (en)",
     "consent::中文 (zh)", "consent::English (en)", "declined::中文 (zh)", "declined::English (en)",
     "closing::中文 (zh)", "closing::English (en)"],
    ["aid_followup", 3, "人道救助回访", "Aid follow-up", "humanitarian_aid", "人道救助", "Humanitarian aid",
     "您好！", "Hello!", "愿意回答吗？", "Will you answer?", "好的。", "Fine.", "谢谢！", "Thanks!"],
]  # fmt: skip


def workbook(sheets: dict[str, list[list[Any]]] | None = None) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for name, rows in (sheets or {"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}).items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def refusals(data: bytes) -> list[str]:
    with pytest.raises(XlsFormError) as caught:
        import_workbook(data)
    return [str(e) for e in caught.value.errors]


def test_a_workbook_becomes_a_flow() -> None:
    flow = Flow.model_validate(import_workbook(workbook()))
    assert [q.id for q in flow.questions] == ["overall", "why_unhappy", "household"]
    assert flow.model_dump(mode="json", exclude_none=True)["questions"][0]["next"] == [
        {"when": {"question": "overall", "any_of": ["poor"]}, "goto": "why_unhappy"},
        {"goto": "household"},
    ]
    assert flow.version == 3


def test_a_formula_cell_is_refused_by_sheet_and_row() -> None:
    survey = [list(r) for r in SURVEY]
    survey[3][2] = '=CONCATENATE("哪里", "不满意")'
    assert refusals(workbook({"survey": survey, "choices": CHOICES, "settings": SETTINGS})) == [
        "survey:4: C4 是公式 is a formula: type the value itself"
    ]


def test_what_is_not_a_usable_workbook() -> None:
    assert "not an .xlsx workbook" in refusals("type,name\ntext,q\n".encode("gbk"))[0]
    assert f"at most {MAX_BYTES // (1024 * 1024)} MB" in refusals(b"x" * (MAX_BYTES + 1))[0]
    assert refusals(workbook({"survey": SURVEY, "choices": CHOICES})) == [
        "settings: 缺少 settings 表 the workbook has no 'settings' sheet"
    ]
    many = [SURVEY[0], *[["text", f"q{i}", "问", "Q", None, None] for i in range(MAX_ROWS)]]
    [error] = refusals(workbook({"survey": many, "choices": CHOICES, "settings": SETTINGS}))
    assert error.startswith(f"survey:{MAX_ROWS + 1}: ") and "too many rows" in error


def test_export_writes_a_workbook_that_imports_back_to_the_same_flow() -> None:
    for path in default_flow_paths():
        flow = load_flow(path)
        data = workbook_bytes(flow)
        assert load_workbook(io.BytesIO(data)).sheetnames == ["survey", "choices", "settings"]
        assert Flow.model_validate(import_workbook(data)) == flow


def test_a_text_beginning_with_equals_is_exported_as_text() -> None:
    data = load_flow(default_flow_paths()[0]).model_dump(mode="json")
    data["questions"][0]["prompt"]["en"] = "=1+1 is two"
    flow = Flow.model_validate(data)
    assert Flow.model_validate(import_workbook(workbook_bytes(flow))) == flow


def env(tmp_path: Path) -> dict[str, str]:
    return {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "HUIFANG_AUTO_MIGRATE": "true"}


def test_cli_import_publishes_and_export_writes(tmp_path: Path) -> None:
    form = tmp_path / "回访表.xlsx"
    form.write_bytes(workbook())
    runner = CliRunner()
    dry = runner.invoke(main, ["flows", "import", str(form), "--dry-run"], env=env(tmp_path))
    assert dry.exit_code == 0, dry.output
    assert "aid_followup, 3 questions" in dry.output
    result = runner.invoke(main, ["flows", "import", str(form)], env=env(tmp_path))
    assert result.exit_code == 0, result.output
    # The database numbers the versions it stores; the workbook's version is a label.
    assert "已发布 published  aid_followup v1" in result.output
    again = runner.invoke(main, ["flows", "import", str(form)], env=env(tmp_path))
    assert "未变化 unchanged  aid_followup v1" in again.output

    out = tmp_path / "out.xlsx"
    exported = runner.invoke(main, ["flows", "export", "aid_followup", "-o", str(out)], env=env(tmp_path))
    assert exported.exit_code == 0, exported.output
    back, original = (Flow.model_validate(import_workbook(d)) for d in (out.read_bytes(), workbook()))
    assert back.content_hash == original.content_hash  # all but the version, which the database gave
    default = runner.invoke(main, ["flows", "export", "humanitarian_aid", "-o", str(out)], env=env(tmp_path))
    assert default.exit_code == 0, default.output
    assert Flow.model_validate(import_workbook(out.read_bytes())).id == "humanitarian_aid"


def test_cli_import_errors_name_file_sheet_and_row_and_store_nothing(tmp_path: Path) -> None:
    survey = [list(r) for r in SURVEY]
    survey.append(["begin group", "g", "组", "Group", None, None])
    form = tmp_path / "bad.xlsx"
    form.write_bytes(workbook({"survey": survey, "choices": CHOICES, "settings": SETTINGS}))
    result = CliRunner().invoke(main, ["flows", "import", str(form)], env=env(tmp_path))
    assert result.exit_code == 1
    assert f"{form}:survey:6: 'begin group': 分组和重复组不支持" in result.output
    assert "未发布任何流程 nothing published" in result.output
    missing = CliRunner().invoke(main, ["flows", "export", "aid_followup", "-o", str(tmp_path / "o.xlsx")], env=env(tmp_path))
    assert missing.exit_code == 1 and "unknown flow" in missing.output


def test_the_stored_source_is_a_readable_flow_file() -> None:
    from bot.services.xlsform import flow_yaml

    definition = import_workbook(workbook())
    flow, _, errors = load_text("aid_followup.yaml", flow_yaml(definition))
    assert errors == [] and flow == Flow.model_validate(definition)


def test_cli_import_is_audited_with_the_version_it_published(tmp_path: Path) -> None:
    import sqlite3

    form = tmp_path / "回访表.xlsx"
    form.write_bytes(workbook())
    result = CliRunner().invoke(main, ["flows", "import", str(form)], env=env(tmp_path))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "x.db") as db:
        query = "SELECT actor, action, subject_id, data FROM audit_log WHERE subject_type = 'flow'"
        rows = db.execute(query).fetchall()
        versions = db.execute("SELECT count(*) FROM flow_versions").fetchone()[0]
    assert versions == 1
    [(actor, action, subject, data)] = rows
    assert (actor, action, subject) == ("cli", "flow_imported", "aid_followup")
    assert '"file": "回访表.xlsx"' in data and '"version": 1' in data and '"created": true' in data
