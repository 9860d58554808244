"""The `huifang` command as an operator runs it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import make_url

from bot.cli import main
from storage.migrate import head

HUIFANG = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(ROOT)}


def _run(args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*HUIFANG, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_serve_answers_health_on_the_embedded_default(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*HUIFANG, "serve", "--port", str(port)], env=_env(tmp_path / "serve.db"), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60  # ends as soon as it answers
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "huifang serve did not come up within 60 s"
                time.sleep(0.2)
        assert r.json() == {"status": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/simulator", timeout=5)
        assert "回访模拟器" in page.text
    finally:
        proc.terminate()
        log = proc.communicate(timeout=60)[0].decode()  # hang guard
    assert (tmp_path / "serve.db").exists()
    # Where to point a browser, said once the server is up (not before it could answer).
    line = f"模拟器 simulator: http://127.0.0.1:{port}/simulator"
    assert log.count(line) == 1, log
    assert log.index("Application startup complete") < log.index(line)


def test_chat_runs_a_survey_in_the_terminal(tmp_path: Path) -> None:
    answers = "\n".join(["好的", "2", "3", "1、2", "没有了，谢谢"]) + "\n"
    done = _run(["chat", "--category", "人道救助"], _env(tmp_path / "chat.db"), stdin=answers)
    assert done.returncode == 0, done.stderr
    assert "您愿意回答几个简短的问题吗" in done.stdout
    assert "非常感谢您" in done.stdout


def test_a_try_out_is_not_counted_and_a_recorded_interview_is(tmp_path: Path) -> None:
    env = _env(tmp_path / "chat.db")
    answers = "\n".join(["好的", "2", "3", "1、2", "救助金发放太慢了"]) + "\n"
    tried = _run(["chat", "--category", "人道救助"], env, stdin=answers)
    assert tried.returncode == 0 and "不计入报告" in tried.stdout
    recorded = _run(["chat", "--category", "人道救助", "--interview"], env, stdin=answers)
    assert recorded.returncode == 0 and "计入报告" in recorded.stdout and "非常感谢您" in recorded.stdout
    report = _run(["report", "--format", "json"], env)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    [aid] = [f for f in data["flows"] if f["category"] == "humanitarian_aid"]
    assert (aid["started"], aid["completed"], data["test_sessions_left_out"]) == (1, 1, 1)
    assert "1 survey of test respondents not counted" in report.stderr
    assert data["totals"]["opinions"] == 1 and data["totals"]["tickets"]["opened"] >= 1


def test_an_interview_at_the_terminal_is_the_listed_persons(tmp_path: Path) -> None:
    """`--interview --phone N`: the answers go to the person imported with that number (their
    category, their history), not to a new nameless respondent."""
    env = _env(tmp_path / "listed.db")
    assert _run(["db", "upgrade"], {**env, "HUIFANG_PUBLISH_DEFAULT_FLOWS": "true"}).returncode == 0
    assert _run(["orgs", "add", "chengdu", "成都市红十字会"], env).returncode == 0
    people = tmp_path / "people.csv"
    people.write_text("姓名,手机,类别\n陈阿姨,13812345678,人道救助\n", encoding="utf-8")
    assert _run(["respondents", "import", str(people), "--org", "chengdu", "--yes"], env).returncode == 0
    answers = "\n".join(["好的", "2", "3", "1、2", "救助金发放太慢了"]) + "\n"
    done = _run(["chat", "--interview", "--phone", "138 1234 5678"], env, stdin=answers)
    assert done.returncode == 0, done.stderr
    assert "陈阿姨" in done.stdout and "非常感谢您" in done.stdout
    report = json.loads(_run(["report", "--format", "json"], env).stdout)
    [aid] = [f for f in report["flows"] if f["category"] == "humanitarian_aid"]
    assert aid["completed"] == 1 and report["test_sessions_left_out"] == 0
    with sqlite3.connect(tmp_path / "listed.db") as db:
        assert db.execute("select count(*) from respondents").fetchone()[0] == 1  # nobody new
        owners = db.execute("select r.name from survey_sessions s join respondents r on r.id = s.respondent_id")
        assert [name for (name,) in owners] == ["陈阿姨"]
    nobody = _run(["chat", "--interview", "--phone", "13900000000"], env, stdin="")
    assert nobody.returncode == 2 and "no respondent with phone" in nobody.stderr
    misuse = _run(["chat", "--phone", "13812345678"], env, stdin="")
    assert misuse.returncode == 2 and "--interview" in misuse.stderr


def test_chat_refuses_an_unknown_category(tmp_path: Path) -> None:
    done = _run(["chat", "--category", "nobody"], _env(tmp_path / "chat.db"), stdin="")
    assert done.returncode == 2 and "unknown category" in done.stderr and "humanitarian_aid" in done.stderr


def test_publish_stores_a_new_version_only_when_the_content_changed(tmp_path: Path) -> None:
    env = _env(tmp_path / "flows.db")
    source = (ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8")
    flow_file = tmp_path / "volunteer.yaml"
    flow_file.write_text(source, encoding="utf-8")
    first = _run(["flows", "publish", str(flow_file)], env)
    assert first.returncode == 0 and "volunteer v1" in first.stdout and "published" in first.stdout
    same = _run(["flows", "publish", str(flow_file)], env)
    assert "unchanged" in same.stdout and "volunteer v1" in same.stdout
    flow_file.write_text(source.replace("您好！", "您好呀！", 1), encoding="utf-8")
    second = _run(["flows", "publish", str(flow_file)], env)
    assert "volunteer v2" in second.stdout


def test_publish_refuses_a_broken_file_and_stores_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path / "flows.db")
    good = tmp_path / "volunteer.yaml"
    good.write_text((ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("goto: main_problem", "goto: nowhere", 1), encoding="utf-8")
    done = _run(["flows", "publish", str(good), str(bad)], env)
    assert done.returncode == 1
    assert "broken.yaml:" in done.stderr and "unknown question 'nowhere'" in done.stderr
    again = _run(["flows", "publish", str(good)], env)
    assert "published" in again.stdout and "v1" in again.stdout  # the good file was not stored before


def test_graph_prints_mermaid_for_a_default_flow(tmp_path: Path) -> None:
    done = _run(["flows", "graph", "救护培训"], _env(tmp_path / "g.db"))
    assert done.returncode == 0
    assert done.stdout.lstrip().startswith("---") or "stateDiagram" in done.stdout
    assert "consent" in done.stdout and "opinion" in done.stdout


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    done = _run(["db", "upgrade"], _env(tmp_path / "up.db"))
    assert done.returncode == 0, done.stderr
    migrations = len(list((ROOT / "storage/migrations/versions").glob("[0-9]*.py")))
    assert f"已升级 upgraded: <none> → {head()} ({migrations} migrations)" in done.stdout
    assert "up to date" not in done.stdout
    assert (tmp_path / "up.db").stat().st_size > 0
    again = _run(["db", "upgrade"], _env(tmp_path / "up.db"))
    assert again.returncode == 0 and f"已是最新 already up to date ({head()})" in again.stdout


def test_db_upgrade_puts_the_categories_in_place_for_what_is_set_up_next(tmp_path: Path) -> None:
    """The README's order: `db upgrade`, organisations, queues and a respondent list, before
    the service first runs. Each names categories as people do (人道救助), and each needs them."""
    env = {**_env(tmp_path / "setup.db"), "HUIFANG_PUBLISH_DEFAULT_FLOWS": "true"}
    done = _run(["db", "upgrade"], env)
    assert done.returncode == 0 and "默认流程已就绪 the default flows are in place" in done.stdout, done.stderr
    assert _run(["orgs", "add", "chengdu", "成都市红十字会"], env).returncode == 0
    queue = _run(["queues", "add", "chengdu", "aid", "救助投诉", "--first-response", "60", "--resolution", "1440",
                  "--categories", "人道救助,志愿服务"], env)  # fmt: skip
    assert queue.returncode == 0, queue.stderr
    assert "chengdu  aid  救助投诉  humanitarian_aid,volunteer  *  P2  60 / 1440" in _run(["queues", "list"], env).stdout
    pets = _run(["queues", "add", "chengdu", "pets", "宠物", "--first-response", "60", "--resolution", "1440",
                 "--categories", "宠物"], env)  # fmt: skip
    assert pets.returncode == 1 and "未知的类别 unknown categories: 宠物" in pets.stderr and "volunteer" in pets.stderr
    people = tmp_path / "people.csv"
    people.write_text("姓名,手机,类别\n陈阿姨,13812345678,人道救助\n", encoding="utf-8")
    imported = _run(["respondents", "import", str(people), "--org", "chengdu"], env)
    assert imported.returncode == 0 and "unknown category" not in imported.stdout + imported.stderr, imported.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_db_upgrade_on_a_missing_postgresql_database_says_so_in_one_line(tmp_path: Path) -> None:
    server = make_url(os.environ.get("HUIFANG_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
    missing = server.set(database="huifang_no_such_db").render_as_string(hide_password=False)
    line = _one_line_error(_run(["db", "upgrade"], {**_env(tmp_path / "x.db"), "HUIFANG_DATABASE_URL": missing}))
    assert "huifang_no_such_db" in line and "createdb huifang_no_such_db" in line
    assert line.index("数据库") < line.index("database")  # Chinese first


def test_commands_on_an_unreachable_server_say_so_in_one_line_without_the_password(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql+asyncpg://huifang:s3cret-pw@127.0.0.1:{port}/huifang"
    env = {**_env(tmp_path / "x.db"), "HUIFANG_DATABASE_URL": url}
    flow_file = tmp_path / "volunteer.yaml"
    flow_file.write_text((ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for args in (["db", "upgrade"], ["flows", "publish", str(flow_file)], ["wechat", "accounts"]):
        line = _one_line_error(_run(args, env))
        assert "s3cret-pw" not in line, args
        assert f"127.0.0.1:{port}/huifang" in line, (args, line)
        assert "refused" in line.lower(), (args, line)


def test_validate_and_publish_accept_a_directory(tmp_path: Path) -> None:
    env = _env(tmp_path / "dir.db")
    defaults = sorted((ROOT / "flows/defaults").glob("*.yaml"))
    checked = _run(["flows", "validate", "flows/defaults"], env)
    assert checked.returncode == 0, checked.stderr
    assert [line.split()[1].rstrip(":") for line in checked.stdout.splitlines()] == [
        f"flows/defaults/{p.name}" for p in defaults
    ]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "b.yml").write_text((ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "a.yaml").write_text((ROOT / "flows/defaults/membership.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a flow", encoding="utf-8")
    published = _run(["flows", "publish", str(folder)], env)
    assert published.returncode == 0, published.stderr
    assert [line.split()[2] for line in published.stdout.splitlines()] == ["membership", "volunteer"]


def test_validate_and_publish_refuse_an_empty_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("validate", "publish"):
        done = _run(["flows", command, str(empty)], _env(tmp_path / "e.db"))
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert f"没有流程文件 no flow files (*.yaml, *.yml, *.json) in {empty}" in done.stderr


def test_telegram_poll_without_a_bot_says_so_before_loading_aiogram(tmp_path: Path) -> None:
    # In a fresh interpreter: whether aiogram was imported is the cost the operator waits for
    # (seconds on a loaded machine), without timing anything.
    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from bot.cli import main\n"
        "result = CliRunner().invoke(main, ['telegram-poll'])\n"
        "print(json.dumps({'code': result.exit_code, 'stderr': result.stderr, 'aiogram': 'aiogram' in sys.modules}))\n"
    )
    env = {k: v for k, v in _env(tmp_path / "t.db").items() if k != "HUIFANG_TELEGRAM_BOTS"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 2
    assert "HUIFANG_TELEGRAM_BOTS" in outcome["stderr"] and "configured: none" in outcome["stderr"]
    assert outcome["aiogram"] is False


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"HUIFANG_TELEGRAM_BOTS": "[{"}, "HUIFANG_TELEGRAM_BOTS cannot be read"),
        ({"HUIFANG_MAX_MISSES": "99"}, "HUIFANG_MAX_MISSES: Input should be less than or equal to 10"),
        ({"HUIFANG_PORT": "eighty"}, "HUIFANG_PORT: Input should be a valid integer"),
    ],
)
def test_a_setting_that_cannot_be_read_is_one_line_naming_it(env: dict[str, str], said: str, tmp_path: Path) -> None:
    env = {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", **env}
    result = CliRunner().invoke(main, ["orgs", "list"], env=env)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()  # no traceback
    assert line.startswith(f"配置有误 invalid setting: {said}")
    assert "eighty" not in line and "[{" not in line  # the value itself is not repeated


def test_a_setting_set_but_empty_counts_as_unset(tmp_path: Path) -> None:
    env = {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "HUIFANG_TELEGRAM_BOTS": ""}
    result = CliRunner().invoke(main, ["telegram-poll"], env=env)
    assert result.exit_code == 2 and "HUIFANG_TELEGRAM_BOTS" in result.output


def test_serve_refuses_several_workers_on_the_embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIFANG_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    result = CliRunner().invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "内置 SQLite 模式只能单进程运行" in result.output and "use PostgreSQL and Redis" in result.output
    assert not (tmp_path / "w.db").exists()  # refused before anything was opened


def test_serve_refuses_several_workers_without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIFANG_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/huifang_unused")
    monkeypatch.delenv("HUIFANG_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["serve", "--workers", "3"])
    assert result.exit_code == 2 and "HUIFANG_REDIS_URL" in result.output and "--workers 3" in result.output
