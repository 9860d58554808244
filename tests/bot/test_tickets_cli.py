"""`huifang tickets classify`, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main


def _run(args: list[str], stdin: bytes) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(main, ["tickets", "classify", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_one_json_object_per_non_empty_line() -> None:
    code, out, _ = _run([], "没有了\n\n   \n一直没人管，拖了好久\r\n啥子时候发？\nnot satisfied\n".encode())
    assert code == 0
    assert out == [
        {"text": "没有了", "kind": "none", "escalate": False, "matched": ["没有了"]},
        {"text": "一直没人管，拖了好久", "kind": "complaint", "escalate": True, "matched": ["没人管", "拖了好久"]},
        {"text": "啥子时候发？", "kind": "help", "escalate": True, "matched": ["啥子时候"]},
        {"text": "not satisfied", "kind": "complaint", "escalate": True, "matched": ["not satisfied"]},
    ]


def test_output_keeps_chinese_readable_and_survives_a_bad_byte() -> None:
    result = CliRunner().invoke(main, ["tickets", "classify"], input="建议多宣传\n".encode() + b"\xff\xfe\n")
    assert result.exit_code == 0
    first, second = result.stdout.splitlines()
    assert '"建议多宣传"' in first and '"suggestion"' in first
    assert json.loads(second)["kind"] == "none"


def test_an_organisations_rules_extend_the_built_in_ones(tmp_path: Path) -> None:
    rules = tmp_path / "jinjiang.yaml"
    rules.write_text("complaint: [垃圾]\n", encoding="utf-8")
    assert _run([], "服务太垃圾了\n".encode())[1][0]["kind"] == "none"
    code, out, _ = _run(["--rules", str(rules)], "服务太垃圾了\n".encode())
    assert code == 0 and out[0] == {"text": "服务太垃圾了", "kind": "complaint", "escalate": True, "matched": ["垃圾"]}


def test_a_malformed_rules_file_stops_with_its_lines(tmp_path: Path) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("complaint:\n  - 垃圾\n  - 12\nbogus: [x]\n", encoding="utf-8")
    code, out, err = _run(["--rules", str(rules)], b"x\n")
    assert code == 2 and out == []
    assert f"{rules}:3: complaint[1]:" in err
    assert f"{rules}:4: bogus:" in err and "unknown kind" in err


def test_a_missing_rules_file(tmp_path: Path) -> None:
    code, _, err = _run(["--rules", str(tmp_path / "none.yaml")], b"x\n")
    assert code == 2 and "cannot read" in err
