"""Secrets at rest and the account life cycle, as an operator runs them: `huifang wechat
add-account | update-account | remove-account`, `huifang secrets rotate`, and the README's
example, against the real database and a running app that must keep serving."""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text

from bot.cli import main
from storage.db import Database
from storage.models import Respondent, SurveySession, WeChatScene
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.wechat_accounts import WeChatAccountRepository
from storage.secrets import new_key
from tests.channels.wechat.wechat_app import Follower, add_account, running_app, settings_for
from tests.channels.wechat.wechat_messages import AES_KEY, APP_ID, APP_SECRET, OTHER_AES_KEY, TOKEN

LOOP = "module"
README = Path(__file__).resolve().parents[3] / "README.md"


async def huifang(env: dict[str, str], *args: str) -> Result:
    # In a thread: the command runs its own event loop while the app serves on this one.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env, catch_exceptions=False)


def add_args(name: str, **overrides: str) -> list[str]:
    values = {"--app-id": APP_ID, "--token": TOKEN, "--aes-key": AES_KEY, "--app-secret": APP_SECRET, **overrides}
    return ["wechat", "add-account", name, *(x for kv in values.items() for x in kv)]


async def stored_secrets(db_url: str, name: str) -> tuple[str, str | None, str | None]:
    """The columns as they are in the database, not through the model."""
    async with Database(db_url) as db, db.transaction() as s:
        row = (
            await s.execute(
                text("SELECT token, aes_key, app_secret FROM wechat_accounts WHERE name = :n"), {"n": name}
            )
        ).one()
    return row[0], row[1], row[2]


async def greets(wx, account: str, openid: str) -> bool:  # type: ignore[no-untyped-def]
    who = Follower(wx, openid, account=account)
    greeting = await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"), twice=False)
    return greeting is not None and "您愿意回答几个简短的问题吗？" in greeting


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_secrets_are_stored_encrypted_survive_rotation_and_a_wrong_key_breaks_only_that_account(
    db_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = new_key(), new_key()
    assert (await huifang({"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": old}, *add_args("enc"))).exit_code == 0
    columns = await stored_secrets(db_url, "enc")
    for secret, column in zip((TOKEN, AES_KEY, APP_SECRET), columns, strict=True):
        assert column is not None and column.startswith("fernet:") and secret not in column

    async with running_app(settings_for(db_url, redis_url, secret_key=old)) as wx:  # "main": plain text
        assert await greets(wx, "enc", "o-enc-1")
        assert await greets(wx, "main", "o-main-1")

    # Rotation: the new key first, the old one still there to read; then the old one goes.
    rotated = await huifang({"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": f"{new},{old}"}, "secrets", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "6" in rotated.output  # three of "enc", three plain ones of "main" encrypted
    assert all(c and c.startswith("fernet:") for c in await stored_secrets(db_url, "main"))
    async with running_app(settings_for(db_url, redis_url, secret_key=new), account=False) as wx:
        assert await greets(wx, "enc", "o-enc-2")
        assert await greets(wx, "main", "o-main-2")

    # A key that opens nothing: both accounts are misconfigured, logged without a secret.
    wrong = new_key()
    async with running_app(settings_for(db_url, redis_url, secret_key=wrong), account=False) as wx:
        await add_account(wx.db, name="plain")  # a plain-text leftover is still served
        with caplog.at_level(logging.ERROR):
            who = Follower(wx, "o-enc-3", account="enc")
            assert (await who.post(who.event("subscribe"))).status_code == 503
        assert await greets(wx, "plain", "o-plain-1")
    logged = caplog.text
    assert "enc" in logged and "decrypt" in logged
    for secret in (TOKEN, AES_KEY, APP_SECRET, new, old, wrong):
        assert secret not in logged


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_without_a_key_secrets_are_refused_but_may_come_from_the_environment(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"HUIFANG_DATABASE_URL": db_url}
    refused = await huifang(env, *add_args("nokey"))
    assert refused.exit_code == 1
    assert "HUIFANG_SECRET_KEY" in refused.output and "huifang secrets new-key" in refused.output
    async with Database(db_url) as db, db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM wechat_accounts")) == 0

    secrets = {"TOKEN": TOKEN, "AES_KEY": AES_KEY, "APP_SECRET": APP_SECRET}
    for field, value in secrets.items():
        monkeypatch.setenv(f"HUIFANG_WECHAT_FROM_ENV_{field}", value)
    added = await huifang(env, "wechat", "add-account", "from-env", "--app-id", APP_ID)
    assert added.exit_code == 0, added.output
    assert await stored_secrets(db_url, "from-env") == ("", None, None)
    async with running_app(settings_for(db_url, redis_url), account=False) as wx:
        assert await greets(wx, "from-env", "o-env-1")
    listed = await huifang(env, "wechat", "accounts")
    row = next(line for line in listed.output.splitlines() if line.startswith("from-env"))
    assert "safe" in row and "aes_key,app_secret,token" in row

    # Nothing stored and nothing in the environment: added, but said to be unusable.
    bare = await huifang(env, "wechat", "add-account", "bare", "--app-id", APP_ID)
    assert bare.exit_code == 0 and "HUIFANG_WECHAT_BARE_TOKEN" in bare.output, bare.output

    no_key = await huifang(env, "secrets", "rotate")
    assert no_key.exit_code == 1 and "huifang secrets new-key" in no_key.output


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_update_account_changes_what_is_given_and_encrypts_new_secrets(db_url: str, redis_url: str) -> None:
    key = new_key()
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": key}
    assert (await huifang(env, *add_args("upd"))).exit_code == 0
    async with Database(db_url) as db, db.transaction() as s:
        await OrganisationRepository(s).create(code="chengdu", name="成都市红十字会")

    changed = await huifang(
        env, "wechat", "update-account", "upd", "--aes-key", OTHER_AES_KEY, "--app-secret", "",
        "--template-id", "tpl-9", "--organisation", "chengdu",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    token, aes_key, app_secret = await stored_secrets(db_url, "upd")
    assert aes_key is not None and aes_key.startswith("fernet:") and OTHER_AES_KEY not in aes_key
    assert app_secret is None
    listed = await huifang(env, "wechat", "accounts")
    row = next(line for line in listed.output.splitlines() if line.startswith("upd"))
    assert row.split()[2:6] == ["safe", "no", "tpl-9", "chengdu"]

    bad = await huifang(env, "wechat", "update-account", "upd", "--aes-key", "short")
    assert bad.exit_code == 2 and "EncodingAESKey" in bad.output
    nobody = await huifang(env, "wechat", "update-account", "nobody", "--template-id", "x")
    assert nobody.exit_code == 1 and "unknown account" in nobody.output
    nothing = await huifang(env, "wechat", "update-account", "upd")
    assert nothing.exit_code == 1 and "nothing to change" in nothing.output
    assert await stored_secrets(db_url, "upd") == (token, aes_key, None)


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_remove_account_refuses_while_surveys_are_open_and_keeps_the_respondents(
    db_url: str, redis_url: str
) -> None:
    env = {"HUIFANG_DATABASE_URL": db_url}
    async with running_app(settings_for(db_url, redis_url)) as wx:  # account "main"
        assert await greets(wx, "main", "o-remove-1")
        async with wx.db.transaction() as s:
            await WeChatAccountRepository(s).add_scene(
                account_name="main", scene="c:humanitarian_aid", category="humanitarian_aid", now=datetime.now(UTC)
            )

    refused = await huifang(env, "wechat", "remove-account", "main")
    assert refused.exit_code == 1, refused.output
    assert "1 位受访者" in refused.output and "1 respondent(s)" in refused.output and "--force" in refused.output
    assert await stored_secrets(db_url, "main")  # still there

    removed = await huifang(env, "wechat", "remove-account", "main", "--force")
    assert removed.exit_code == 0, removed.output
    assert "1 scenes" in removed.output
    async with Database(db_url) as db, db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM wechat_accounts")) == 0
        assert await s.scalar(select(func.count()).select_from(WeChatScene)) == 0
        assert await s.scalar(select(func.count()).select_from(Respondent)) == 1
        assert await s.scalar(select(func.count()).select_from(SurveySession)) == 1
    again = await huifang(env, "wechat", "remove-account", "main")
    assert again.exit_code == 1 and "unknown account" in again.output


def readme_example() -> list[str]:
    """The README's `huifang wechat add-account …` command line, continuation lines joined."""
    block = re.search(r"^ *huifang wechat add-account .*?(?<!\\)\n", README.read_text(), re.S | re.M)
    assert block is not None, "no add-account example in README.md"
    words = shlex.split(block[0].replace("\\\n", " "))
    assert words[:3] == ["huifang", "wechat", "add-account"]
    return words[1:]


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_the_readme_add_account_example_runs_as_written(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'readme.db'}"
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": new_key()}
    done = await huifang(env, *readme_example())
    assert done.exit_code == 0, done.output
    assert "safe or compatible mode" in done.output
