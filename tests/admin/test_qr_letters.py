"""/console/respondents/letters: personal QR codes made at (a fake) WeChat for the chosen
respondents in the admin's scope, and a print-ready sheet with each person's name and a QR
code saying WeChat's URL; an account without an AppSecret refuses its letters, saying why."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime

import httpx
import segno
from sqlalchemy import select

from admin.pages import STATIC
from bot.app import create_app
from bot.services.qr_letters import qr_image
from bot.services.staff import create_user
from storage.db import Database
from storage.models import AuditEntry, ChannelIdentity, Organisation, WeChatAccount, WeChatScene
from storage.repositories.respondents import RespondentRepository
from tests.admin.conftest import PASSWORD, T0, settings_for
from tests.admin.test_console_pages import csrf_in, log_in
from tests.admin.tickets_world import publish_flow
from tests.browser import ARTIFACTS, chromium
from tests.channels.wechat.wechat_messages import APP_ID, APP_SECRET, TOKEN
from tests.fakes.wechat_api import FakeWeChatApi


async def _world(db: Database) -> dict[str, int]:
    await publish_flow(db)
    now = datetime.now(UTC)
    async with db.transaction() as s:
        orgs = {o.code: o.id for o in await s.scalars(select(Organisation))}
        s.add(WeChatAccount(name="jj-wx", app_id=APP_ID, token=TOKEN, app_secret=APP_SECRET,
                            organisation_id=orgs["jinjiang"], created_at=now, updated_at=now))  # fmt: skip
        s.add(WeChatAccount(name="wh-wx", app_id="wx-no-secret", token=TOKEN,
                            organisation_id=orgs["wuhou"], created_at=now, updated_at=now))  # fmt: skip
        await s.flush()
        people = RespondentRepository(s)
        made = {}
        for name, org, tags in (("陈阿姨", "chunxi", ["独居"]), ("刘大爷", "jinjiang", None), ("王奶奶", "wuhou", None),
                                ("已关注", "jinjiang", None)):  # fmt: skip
            person = await people.create(category="humanitarian_aid", name=name, phone=None,
                                         organisation_id=orgs[org], at=T0)  # fmt: skip
            person.tags = tags
            made[name] = person.id
        following = await people.get(made["已关注"])
        assert following is not None
        await people.add_identity(following, channel="wechat", account="jj-wx", external_id="o-already", at=T0)
        await create_user(s, username="jjadmin", org_code="jinjiang", role="admin", password=PASSWORD, now=T0)
    return made


def _look_at(html: str) -> None:
    """Screenshots of the sheet at a phone's width and as printed (A4 pages, the toolbar
    hidden), and the printed PDF, in test-artifacts/people/ for a person to look at."""
    folder = ARTIFACTS / "people"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "letters.css").write_bytes((STATIC / "letters.css").read_bytes())
    page_file = folder / "letters.html"
    page_file.write_text(
        re.sub(r'href="/console/static/letters.css[^"]*"', 'href="letters.css"', html), encoding="utf-8"
    )
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(page_file.as_uri())
        assert page.locator("article.letter").count() == 2
        page.screenshot(path=str(folder / "letters-390.png"), full_page=False)
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('.toolbar')).display") == "none"
        pdf = page.pdf(path=str(folder / "letters.pdf"), format="A4")
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2  # one A4 page a letter
        page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        page.screenshot(path=str(folder / "letters-print.png"), full_page=False)


def _qr_contents(html: str) -> dict[str, str]:
    """Respondent id → the data: URI of the QR code on their letter."""
    return dict(re.findall(r'data-respondent="(\d+)">.*?<img src="(data:image/png;base64,[^"]+)"', html, re.S))


async def test_letters_carry_each_name_and_a_qr_of_wechats_url(db_url: str, staffed: Database) -> None:
    people = await _world(staffed)
    async with FakeWeChatApi(apps={APP_ID: APP_SECRET}) as fake:
        app = create_app(settings_for(db_url, in_process_worker=False, wechat_api_base=fake.base_url))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        ):
            await log_in(client, "jjadmin")
            form = await client.get("/console/respondents/letters")
            assert form.status_code == 200 and 'id="matching">符合条件 <strong>2</strong>' in form.text
            sheet = await client.post(
                "/console/respondents/letters", data={"csrf_token": csrf_in(form.text), "following": "no"}
            )
            assert sheet.status_code == 200, sheet.text
            # Only 锦江's not-yet-following people: 武侯's 王奶奶 is outside the scope.
            assert "尊敬的陈阿姨" in sheet.text and "尊敬的刘大爷" in sheet.text
            assert "王奶奶" not in sheet.text and "已关注" not in sheet.text
            async with staffed.transaction() as s:
                scenes = {x.respondent_id: x for x in await s.scalars(select(WeChatScene))}
            assert set(scenes) == {people["陈阿姨"], people["刘大爷"]}
            codes = _qr_contents(sheet.text)
            for rid in (people["陈阿姨"], people["刘大爷"]):
                scene = scenes[rid]
                assert scene.scene == f"r:{rid}" and scene.url and scene.url.startswith("http://weixin.qq.com/q/")
                # The printed code is exactly the code of WeChat's URL for this person's scene.
                assert codes[str(rid)] == qr_image(scene.url)
                png = base64.b64decode(codes[str(rid)].split(",", 1)[1])
                assert png.startswith(b"\x89PNG") and len(png) > 200
            assert segno.make(scenes[people["陈阿姨"]].url, error="m").designator  # a valid QR for the URL
            await asyncio.get_running_loop().run_in_executor(None, _look_at, sheet.text)
            made = [c.json["action_info"]["scene"]["scene_str"] for c in fake.calls("/cgi-bin/qrcode/create")]
            assert sorted(made) == sorted(f"r:{people[n]}" for n in ("陈阿姨", "刘大爷"))
            # Printing again reuses the codes: nothing more is asked of WeChat.
            again = await client.post(
                "/console/respondents/letters", data={"csrf_token": csrf_in(form.text), "tag": "独居"}
            )
            assert "尊敬的陈阿姨" in again.text and "尊敬的刘大爷" not in again.text
            assert fake.count("/cgi-bin/qrcode/create") == 2
            async with staffed.transaction() as s:
                audited = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "qr_letters_made")))
            assert [e.data["letters"] for e in audited] == [2, 1] and audited[0].actor == "staff:jjadmin"


async def test_an_account_without_an_app_secret_refuses_its_letters(db_url: str, staffed: Database) -> None:
    people = await _world(staffed)
    async with FakeWeChatApi(apps={APP_ID: APP_SECRET}) as fake:
        app = create_app(settings_for(db_url, in_process_worker=False, wechat_api_base=fake.base_url))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        ):
            await log_in(client, "admin")  # the city: every district
            form = await client.get("/console/respondents/letters")
            sheet = await client.post("/console/respondents/letters", data={"csrf_token": csrf_in(form.text)})
            assert sheet.status_code == 200
            assert "尊敬的王奶奶" not in sheet.text
            assert (
                f"#{people['王奶奶']} 王奶奶" in sheet.text
                and "没有配置 AppSecret" in sheet.text
                and "cannot be printed" in sheet.text
            )
            assert str(people["王奶奶"]) not in _qr_contents(sheet.text)
            assert fake.count("/cgi-bin/qrcode/create") == 2  # 锦江's two; none for 武侯's account
            # Staff cannot make letters.
            await log_in(client, "zhangsan")
            assert (await client.get("/console/respondents/letters")).status_code == 403
        async with staffed.transaction() as s:
            assert (
                await s.scalar(select(ChannelIdentity).where(ChannelIdentity.respondent_id == people["王奶奶"])) is None
            )
