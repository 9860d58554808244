"""`huifang report` on the fixed data set: each format written and read back, errors in one
zh+en line with exit status 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from bot.cli import main
from tests.conftest import REDIS_URL
from tests.services.reports.conftest import ReportWorld


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("HUIFANG_DATABASE_URL", db_url)
    monkeypatch.setenv("HUIFANG_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("HUIFANG_AUTO_MIGRATE", "false")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_to_standard_output(world: ReportWorld, cli_env: None) -> None:
    code, out, _ = run("--org", "jinjiang", "--since", "2026-06-01", "--until", "2026-06-30")
    assert code == 0
    data = json.loads(out)
    aid = next(f for f in data["flows"] if f["code"] == "aid")
    assert (aid["started"], aid["completed"]) == (2, 2)


def test_docx_and_crosstab(world: ReportWorld, cli_env: None, tmp_path: Path) -> None:
    path = tmp_path / "报告.docx"
    code, out, _ = run("--flow", "aid", "--by", "tag", "--question", "services", "--format", "docx", "-o", str(path))
    assert code == 0 and f"已写入 written: {path}" in out
    texts = [p.text for p in Document(str(path)).paragraphs]
    assert any(t.startswith("人道救助类。本次共回访人道救助对象5人") for t in texts)


def test_surveys_of_test_respondents_are_said_to_be_left_out(world: ReportWorld, cli_env: None) -> None:
    # S7 is the test respondent p7's (jinjiang): counted nowhere, but said, so that a try-out
    # with `huifang chat` does not just show zeros.
    code, out, err = run("--format", "md")
    assert code == 0
    assert "注意 note: 测试受访者的问卷1份未计入" in err and "1 survey of test respondents not counted" in err
    # The document itself says so plainly, without the command's hint.
    assert "试用产生的测试问卷1份未计入" in out and "huifang chat" not in out
    code, out, err = run("--org", "wuhou", "--format", "md")
    assert code == 0 and "未计入" not in err + out


def test_md_html_xlsx_csv(world: ReportWorld, cli_env: None, tmp_path: Path) -> None:
    code, out, _ = run("--format", "md")
    assert code == 0 and out.startswith("# 回访报告")
    for fmt in ("html", "xlsx", "csv"):
        code, _, err = run("--format", fmt, "-o", str(tmp_path / f"r.{fmt}"))
        assert code == 0, err
        assert (tmp_path / f"r.{fmt}").stat().st_size > 0
    assert (tmp_path / "report-print.css").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "日期格式不对 --since: '2026-13-01' is not a date"),
        (["--since", "2026-07-01", "--until", "2026-06-01"], "起始日期晚于结束日期"),
        (["--org", "nowhere"], "未知的机构 unknown organisation: nowhere"),
        (["--category", "pets"], "未知的类别 unknown category: pets"),
        (["--flow", "nope"], "未知的流程 unknown flow: nope"),
        (["--by", "tag"], "needs both by and question"),
        (["--format", "docx"], "needs an output file"),
    ],
)
def test_errors_exit_1_with_one_line(world: ReportWorld, cli_env: None, args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 1 and out == ""
    assert err.startswith("未生成报告 no report: ") and message in err and "Traceback" not in err
