"""The console's pages: the login form, its cookies and CSRF tokens, the home page's scope,
security headers, escaping."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI

from bot.app import create_app
from bot.services.staff import LOGIN_FAILED
from storage.db import Database
from tests.admin.conftest import PASSWORD, settings_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "a form without a CSRF token"
    return found.group(1)


def set_cookies(r: httpx.Response) -> dict[str, SimpleCookie]:
    out = {}
    for header in r.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name in jar:
            out[name] = jar
    return out


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD, next_path: str = "") -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_in(form.text), "next": next_path},
    )


async def test_a_page_without_login_goes_to_the_login_form_and_back(client: httpx.AsyncClient) -> None:
    r = await client.get("/console?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console%3Fx%3D1"
    form = await client.get(r.headers["location"])
    assert form.status_code == 200 and "工作人员登录" in form.text and "Staff login" in form.text
    assert 'name="next" value="/console?x=1"' in form.text
    done = await log_in(client, "zhangsan", next_path="/console?x=1")
    assert done.status_code == 303 and done.headers["location"] == "/console?x=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/console/login", "/\\evil", "/api/v1/me"])
async def test_after_login_only_console_paths_are_followed(client: httpx.AsyncClient, target: str) -> None:
    done = await log_in(client, "zhangsan", next_path=target)
    assert done.headers["location"] == "/console"


async def test_the_session_cookie_is_httponly_samesite_and_not_secure_over_http(client: httpx.AsyncClient) -> None:
    form = await client.get("/console/login")
    login_cookie = set_cookies(form)["huifang_console_login"]["huifang_console_login"]
    assert login_cookie["httponly"] and login_cookie["samesite"] == "strict" and login_cookie["path"] == "/console/login"
    r = await log_in(client, "zhangsan")
    cookie = set_cookies(r)["huifang_console"]["huifang_console"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    assert not cookie["secure"] and not cookie["max-age"]  # ends with the browser


async def test_login_without_its_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/console/login")
    r = await client.post("/console/login", data={"username": "zhangsan", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text and "huifang_console" not in r.cookies
    client.cookies.clear()  # a post from another site carries no login cookie at all
    r = await client.post("/console/login", data={"username": "zhangsan", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403


async def test_a_failed_login_says_the_one_message_and_keeps_the_username(client: httpx.AsyncClient) -> None:
    wrong = await log_in(client, "zhangsan", "not the password")
    unknown = await log_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for r in (wrong, unknown):
        assert LOGIN_FAILED in r.text and "huifang_console" not in set_cookies(r)
    assert 'value="zhangsan"' in wrong.text


async def test_logout_needs_the_csrf_token_and_ends_the_session(client: httpx.AsyncClient) -> None:
    await log_in(client, "zhangsan")
    session = client.cookies["huifang_console"]
    home = await client.get("/console")
    assert home.status_code == 200
    token = csrf_in(home.text)
    refused = await client.post("/console/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "表单已过期" in refused.text
    assert (await client.post("/console/logout")).status_code == 403
    assert (await client.get("/console")).status_code == 200  # still logged in
    out = await client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert 'huifang_console=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert (await client.get("/console")).headers["location"].startswith("/console/login")
    # The old cookie, replayed, is no good either.
    client.cookies.set("huifang_console", session)
    assert (await client.get("/console")).status_code == 303


async def test_the_csrf_token_is_also_taken_from_a_header(client: httpx.AsyncClient) -> None:
    await log_in(client, "zhangsan")
    token = csrf_in((await client.get("/console")).text)
    r = await client.post("/console/logout", headers={"X-CSRF-Token": token})  # as htmx would send it
    assert r.status_code == 303


async def test_home_shows_who_and_only_the_organisations_in_scope(client: httpx.AsyncClient) -> None:
    await log_in(client, "zhangsan")
    page = (await client.get("/console")).text
    assert "张三" in page and "锦江区红十字会" in page and "工作人员" in page
    assert "春熙路街道红十字服务站" in page
    assert "成都市红十字会" not in page and "武侯区红十字会" not in page
    # Only sections whose page exists are links; the others are shown as coming.
    assert 'href="/console"' in page and 'href="/console/tickets"' in page
    assert 'href="/console/respondents"' in page and 'href="/console/flows"' in page
    assert 'href="/console/reports"' in page


async def test_a_station_viewer_sees_only_the_station(client: httpx.AsyncClient) -> None:
    await log_in(client, "lisi")
    page = (await client.get("/console")).text
    assert "春熙路街道红十字服务站" in page and "锦江区红十字会" not in page and "只读" in page


async def test_console_pages_carry_security_headers_and_are_not_cached(client: httpx.AsyncClient) -> None:
    for path in ("/console/login",):
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin" and r.headers["cache-control"] == "no-store"
    css_link = re.search(r'href="(/console/static/console\.css\?v=[0-9a-f]+)"', r.text)
    assert css_link
    css = await client.get(css_link.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"] and "Noto Sans CJK SC" in css.text
    assert "http" not in css.text.replace("https", "http")  # no external URL
    assert (await client.get("/console/static/../../bot/settings.py")).status_code == 404
    assert (await client.get("/console/static/nothing.css")).status_code == 404


async def test_what_people_typed_is_escaped(client: httpx.AsyncClient, app: FastAPI) -> None:
    from bot.services.staff import create_user

    async with app.state.container.db.transaction() as s:
        await create_user(
            s, username="xss", org_code="wuhou", role="staff", name="<script>alert(1)</script>", password=PASSWORD,
            now=app.state.container.clock(),
        )
    await log_in(client, "xss")
    page = (await client.get("/console")).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    failed = await log_in(client, '"><script>x</script>', "wrong password")
    assert "<script>x</script>" not in failed.text


@pytest.fixture
async def https_client(db_url: str, staffed: Database) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings_for(db_url, trust_proxy_headers=True))
    transport = httpx.ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://test") as c,
    ):
        yield application, c


async def test_the_cookie_is_secure_over_https(client: httpx.AsyncClient, app: FastAPI) -> None:
    secure = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    async with secure:
        r = await log_in(secure, "zhangsan")
        assert set_cookies(r)["huifang_console"]["huifang_console"]["secure"]
    # A client claiming https through the header is not believed unless told to.
    r = await client.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert not set_cookies(r)["huifang_console_login"]["huifang_console_login"]["secure"]


async def test_behind_a_trusted_proxy_x_forwarded_proto_makes_the_cookie_secure(https_client) -> None:
    _, client = https_client
    r = await client.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert set_cookies(r)["huifang_console_login"]["huifang_console_login"]["secure"]
    r = await client.get("/console/login", headers={"X-Forwarded-Proto": "http"})
    assert not set_cookies(r)["huifang_console_login"]["huifang_console_login"]["secure"]
