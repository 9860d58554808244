"""`huifang wechat add-account | update-account | remove-account | accounts | scene` and
`huifang secrets rotate`, run as an operator would, against the real database, the fake WeChat
API and a running app that serves what the CLI added."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from storage.models import WeChatAccount, WeChatScene
from storage.repositories.respondents import RespondentRepository
from storage.secrets import new_key
from tests.channels.wechat.wechat_app import Follower, running_app, settings_for
from tests.channels.wechat.wechat_messages import AES_KEY, APP_ID, APP_SECRET, TOKEN
from tests.fakes.wechat_api import FakeWeChatApi

LOOP = "module"  # the fake WeChat API server lives on the module's event loop
KEY = new_key()  # HUIFANG_SECRET_KEY of these tests


async def huifang(env: dict[str, str], *args: str) -> Result:
    # In a thread: the command runs its own event loop, while the fake API and the app keep
    # serving on this one.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env, catch_exceptions=False)


def add_args(name: str = "sc-chengdu", **overrides: str) -> list[str]:
    values = {"--app-id": APP_ID, "--token": TOKEN, "--aes-key": AES_KEY, "--app-secret": APP_SECRET, **overrides}
    return ["wechat", "add-account", name, *(x for kv in values.items() for x in kv)]


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_an_added_account_is_served_at_once_and_listed_without_secrets(db_url: str, redis_url: str) -> None:
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": KEY, "HUIFANG_WECHAT_SC_CHENGDU_APP_SECRET": "from-the-env"}
    async with running_app(settings_for(db_url, redis_url, secret_key=KEY), account=False) as wx:
        who = Follower(wx, "o-cli", account="sc-chengdu")
        assert (await who.post(who.event("subscribe", "qrscene_c:humanitarian_aid"))).status_code == 404

        done = await huifang(env, *add_args(), "--template-id", "tpl-123")
        assert done.exit_code == 0, done.output
        assert "/wechat/sc-chengdu" in done.output
        greeting = await who.send(who.event("subscribe", "qrscene_c:humanitarian_aid"))
        assert greeting is not None and "您愿意回答几个简短的问题吗？" in greeting

        listed = await huifang(env, "wechat", "accounts")
        assert listed.exit_code == 0, listed.output
        row = next(line for line in listed.output.splitlines() if line.startswith("sc-chengdu"))
        assert APP_ID in row and "safe" in row and "tpl-123" in row and "app_secret" in row
        for secret in (TOKEN, AES_KEY, APP_SECRET, "from-the-env"):
            assert secret not in listed.output + done.output


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_bad_or_duplicate_accounts_are_refused_and_change_nothing(db_url: str, tmp_path) -> None:
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_SECRET_KEY": KEY}
    bad_key = await huifang(env, *add_args(**{"--aes-key": "not-a-43-character-key"}))
    assert bad_key.exit_code == 2 and "EncodingAESKey" in bad_key.output
    bad_name = await huifang(env, *add_args("Bad Name!"))
    assert bad_name.exit_code == 1 and "account name" in bad_name.output
    unknown_org = await huifang(env, *add_args(), "--organisation", "nowhere")
    assert unknown_org.exit_code == 1 and "unknown organisation" in unknown_org.output

    from storage.db import Database

    async with Database(db_url) as db, db.transaction() as s:
        assert (await s.scalars(select(WeChatAccount))).all() == []
    assert (await huifang(env, *add_args())).exit_code == 0
    again = await huifang(env, *add_args())
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_scene_makes_a_permanent_qr_code_once_and_scanning_it_starts_the_survey(
    db_url: str, redis_url: str, fake_wechat: FakeWeChatApi
) -> None:
    env = {
        "HUIFANG_DATABASE_URL": db_url, "HUIFANG_REDIS_URL": redis_url,
        "HUIFANG_WECHAT_API_BASE": fake_wechat.base_url, "HUIFANG_SECRET_KEY": KEY,
    }  # fmt: skip
    assert (await huifang(env, *add_args("main"))).exit_code == 0

    made = await huifang(env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid")
    assert made.exit_code == 0, made.output
    assert "c:humanitarian_aid" in made.output and "showqrcode?ticket=" in made.output
    [call] = fake_wechat.calls("/cgi-bin/qrcode/create")
    assert call.json == {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "c:humanitarian_aid"}}}

    again = await huifang(env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid")
    assert again.exit_code == 0 and "exists" in again.output
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 1  # the stored ticket is reused

    async with running_app(settings_for(db_url, redis_url, secret_key=KEY), account=False) as wx:
        async with wx.db.transaction() as s:
            [scene] = (await s.scalars(select(WeChatScene))).all()
            person = await RespondentRepository(s).create(category="humanitarian_aid")
        assert scene.ticket is not None and scene.ticket.startswith("gQ-fake-ticket-")
        who = Follower(wx, "o-scanned")
        greeting = await who.send(who.event("subscribe", f"qrscene_{scene.scene}"))
        assert greeting is not None and "您愿意回答几个简短的问题吗？" in greeting

    personal = await huifang(
        env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid", "--respondent", str(person.id)
    )
    assert personal.exit_code == 0, personal.output
    assert fake_wechat.calls("/cgi-bin/qrcode/create")[-1].json["action_info"]["scene"]["scene_str"] == f"r:{person.id}"


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_scene_refusals_and_a_refused_api_call(db_url: str, redis_url: str, fake_wechat: FakeWeChatApi) -> None:
    env = {
        "HUIFANG_DATABASE_URL": db_url, "HUIFANG_REDIS_URL": redis_url,
        "HUIFANG_WECHAT_API_BASE": fake_wechat.base_url, "HUIFANG_SECRET_KEY": KEY,
    }  # fmt: skip
    assert (await huifang(env, *add_args("main"))).exit_code == 0
    unknown = await huifang(env, "wechat", "scene", "--account", "nobody", "--category", "humanitarian_aid")
    assert unknown.exit_code == 1 and "unknown account" in unknown.output
    bad = await huifang(env, "wechat", "scene", "--account", "main", "--category", "no_such_group")
    assert bad.exit_code == 1 and "unknown category" in bad.output
    nobody = await huifang(env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid", "--respondent", "424242")
    assert nobody.exit_code == 1 and "unknown respondent" in nobody.output
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 0

    fake_wechat.fail_next("/cgi-bin/qrcode/create", 45009)
    refused = await huifang(env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid")
    assert refused.exit_code == 1 and "45009" in refused.output
    assert await scenes(db_url) == []  # a scene without its QR code is not stored
    retried = await huifang(env, "wechat", "scene", "--account", "main", "--category", "humanitarian_aid")
    assert retried.exit_code == 0 and "ticket: gQ-fake-ticket-" in retried.output


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_scene_takes_the_category_by_any_name_and_stores_its_code(
    db_url: str, redis_url: str, fake_wechat: FakeWeChatApi
) -> None:
    env = {
        "HUIFANG_DATABASE_URL": db_url, "HUIFANG_REDIS_URL": redis_url,
        "HUIFANG_WECHAT_API_BASE": fake_wechat.base_url, "HUIFANG_SECRET_KEY": KEY,
    }  # fmt: skip
    assert (await huifang(env, *add_args("main"))).exit_code == 0
    made = await huifang(env, "wechat", "scene", "--account", "main", "--category", "人道救助")
    assert made.exit_code == 0, made.output
    assert "c:humanitarian_aid" in made.output
    [scene] = await scenes(db_url)
    assert (scene.scene, scene.category) == ("c:humanitarian_aid", "humanitarian_aid")
    assert scene.ticket is not None
    english = await huifang(env, "wechat", "scene", "--account", "main", "--category", "Humanitarian aid")
    assert english.exit_code == 0 and "exists" in english.output, english.output
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 1


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_without_an_app_secret_the_scene_is_stored_for_the_console(
    db_url: str, fake_wechat: FakeWeChatApi
) -> None:
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_WECHAT_API_BASE": fake_wechat.base_url, "HUIFANG_SECRET_KEY": KEY}
    added = await huifang(env, "wechat", "add-account", "main", "--app-id", APP_ID, "--token", TOKEN)
    assert added.exit_code == 0, added.output
    made = await huifang(env, "wechat", "scene", "--account", "main", "--category", "人道救助")
    assert made.exit_code == 0 and "no AppSecret" in made.output, made.output
    [scene] = await scenes(db_url)
    assert (scene.scene, scene.ticket) == ("c:humanitarian_aid", None)
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 0


async def scenes(db_url: str) -> list[WeChatScene]:
    from storage.db import Database

    async with Database(db_url) as db, db.transaction() as s:
        return list((await s.scalars(select(WeChatScene))).all())
