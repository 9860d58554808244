"""The JSON API's logins: POST /api/v1/login → bearer token → GET /api/v1/me, logout."""

from __future__ import annotations

import httpx

from bot.app import create_app
from bot.services.staff import LOGIN_FAILED
from storage.db import Database
from tests.admin.conftest import PASSWORD, settings_for
from tests.admin.test_console_pages import csrf_in


async def bearer(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    r = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_gives_a_bearer_token_that_shows_the_user_and_scope(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/login", json={"username": "ZhangSan", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and len(body["token"]) >= 40 and body["expires_at"]
    assert body["user"] == {
        "id": body["user"]["id"],
        "username": "zhangsan",
        "name": "张三",
        "role": "staff",
        "organisation": "jinjiang",
        "can_handle": True,
        "is_admin": False,
    }
    assert "set-cookie" not in r.headers  # the API's login is the token, not a cookie
    me = await client.get("/api/v1/me", headers=auth(body["token"]))
    assert me.status_code == 200
    assert [(o["code"], o["depth"], o["parent_code"]) for o in me.json()["scope"]] == [
        ("jinjiang", 0, None),  # its parent lies outside the scope
        ("chunxi", 1, "jinjiang"),
    ]
    city = await client.get("/api/v1/me", headers=auth(await bearer(client, "admin")))
    assert [o["code"] for o in city.json()["scope"]] == ["chengdu", "jinjiang", "chunxi", "wuhou"]


async def test_every_login_failure_looks_the_same(client: httpx.AsyncClient) -> None:
    async def fail(username: str, password: str) -> httpx.Response:
        r = await client.post("/api/v1/login", json={"username": username, "password": password})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        return r

    unknown = await fail("nobody", PASSWORD)
    wrong = await fail("zhangsan", "not the password")
    assert unknown.json() == wrong.json() == {"detail": LOGIN_FAILED}
    for _ in range(4):
        await fail("zhangsan", "not the password")
    locked = await fail("zhangsan", PASSWORD)  # the right password, during the lock
    assert locked.content == unknown.content


async def test_a_disabled_users_token_and_a_logged_out_token_are_refused(
    client: httpx.AsyncClient, app
) -> None:
    from bot.services.staff import disable_user

    token = await bearer(client, "lisi")
    other = await bearer(client, "zhangsan")
    assert (await client.get("/api/v1/me", headers=auth(token))).status_code == 200
    async with app.state.container.db.transaction() as s:
        await disable_user(s, username="lisi", now=app.state.container.clock())
    refused = await client.get("/api/v1/me", headers=auth(token))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert (await client.post("/api/v1/login", json={"username": "lisi", "password": PASSWORD})).status_code == 401

    assert (await client.post("/api/v1/logout", headers=auth(other))).status_code == 204
    assert (await client.get("/api/v1/me", headers=auth(other))).status_code == 401


async def test_no_token_a_malformed_header_or_a_cookie_token_as_bearer_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"})).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer "})).status_code == 401
    # A console session's token is only good as the cookie, where POSTs need its CSRF token.
    page = await client.get("/console/login")
    r = await client.post(
        "/console/login",
        data={"username": "zhangsan", "password": PASSWORD, "csrf_token": page.cookies["huifang_console_login"]},
    )
    cookie = r.cookies["huifang_console"]
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers=auth(cookie))).status_code == 401
    client.cookies.set("huifang_console", cookie)
    assert (await client.get("/api/v1/me")).status_code == 200
    # …and a POST with it but without the CSRF token is refused.
    assert (await client.post("/api/v1/logout")).status_code == 403


async def test_api_answers_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/login", json={"username": "nobody", "password": "x"})
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_an_address_that_keeps_failing_waits_and_others_do_not(db_url: str, staffed: Database) -> None:
    app = create_app(settings_for(db_url, login_rate_limit=3, login_rate_window_s=600))
    async with app.router.lifespan_context(app):
        guesser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)), base_url="http://t")
        office = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 4000)), base_url="http://t")
        login = {"username": "zhangsan", "password": PASSWORD}
        async with guesser, office:
            # Different accounts each time: the accounts' own lockouts never start.
            for name in ("nobody", "lisi", "wangwu"):
                r = await guesser.post("/api/v1/login", json={"username": name, "password": "guess"})
                assert r.status_code == 401
            refused = await guesser.post("/api/v1/login", json=login)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert "分钟后再试" in refused.json()["detail"] and "try again in" in refused.json()["detail"]
            page = await guesser.get("/console/login")
            form = await guesser.post(
                "/console/login", data={"username": "zhangsan", "password": PASSWORD, "csrf_token": csrf_in(page.text)}
            )
            assert form.status_code == 429 and "登录失败次数过多" in form.text and "huifang_console" not in form.cookies
            # Another address logs in; its successes count for nothing.
            for _ in range(5):
                assert (await office.post("/api/v1/login", json=login)).status_code == 200
