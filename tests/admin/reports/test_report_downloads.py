"""/api/v1/reports/answers.xlsx|csv and figures.xlsx|csv: roles (raw answers for staff and
admins only), the organisation boundary, filters refused in Chinese and English, Chinese
file names (RFC 5987), the download audited, files that open."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import httpx
import openpyxl
import pytest_asyncio
from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry
from tests.admin.reports.conftest import FakeBuilder
from tests.admin.test_auth_api import auth, bearer
from tests.admin.tickets_world import add_colleagues, open_ticket, publish_flow


@pytest_asyncio.fixture
async def answers(staffed: Database) -> dict[str, int]:
    """Surveys answered in 锦江, 春熙路 (under 锦江) and 武侯: two answers each."""
    await add_colleagues(staffed)
    await publish_flow(staffed)
    return {
        org: (await open_ticket(staffed, org, f"{org}的意见", with_survey=True)).respondent_id
        for org in ("jinjiang", "chunxi", "wuhou")
    }


def _csv(r: httpx.Response) -> list[list[str]]:
    assert r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))


def _filename(r: httpx.Response) -> str:
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    return unquote(disposition.split("filename*=UTF-8''")[1])


async def test_a_district_downloads_its_own_answers_and_a_viewer_none(
    client: httpx.AsyncClient, answers: dict[str, int], staffed: Database
) -> None:
    zhangsan = await bearer(client, "zhangsan")  # staff of 锦江
    r = await client.get("/api/v1/reports/answers.csv", headers=auth(zhangsan))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert _filename(r).startswith("回访答案-") and _filename(r).endswith(".csv")
    rows = _csv(r)[1:]
    assert {int(row[0]) for row in rows} == {answers["jinjiang"], answers["chunxi"]}
    assert len(rows) == 4
    assert {row[9] for row in rows if row[6] == "opinion"} == {"jinjiang的意见", "chunxi的意见"}

    lisi = await bearer(client, "lisi")  # viewer of 春熙路
    r = await client.get("/api/v1/reports/answers.csv", headers=auth(lisi))
    assert r.status_code == 403 and "权限" in r.json()["detail"]
    assert (await client.get("/api/v1/reports/answers.xlsx", headers=auth(lisi))).status_code == 403
    assert (await client.get("/api/v1/reports/answers.csv")).status_code == 401

    async with staffed.transaction() as s:
        entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "reports.export_answers")))
    assert [(e.actor, e.data["format"]) for e in entries] == [("staff:zhangsan", "csv")]


async def test_the_admin_downloads_every_answer_as_a_workbook(
    client: httpx.AsyncClient, answers: dict[str, int]
) -> None:
    admin = await bearer(client, "admin")
    r = await client.get("/api/v1/reports/answers.xlsx", params={"org": "wuhou"}, headers=auth(admin))
    assert r.status_code == 200, r.text
    assert _filename(r).endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    rows = [list(x) for x in book.worksheets[0].iter_rows(values_only=True)][1:]
    # tickets_world stores "dissatisfied", which is no option of the flow: shown as stored.
    assert [(row[0], row[1], row[6], row[8], row[9]) for row in rows] == [
        (answers["wuhou"], "武侯区红十字会", "overall", "dissatisfied", "不满意"),
        (answers["wuhou"], "武侯区红十字会", "opinion", "wuhou的意见", "wuhou的意见"),
    ]


async def test_filters_outside_the_scope_or_malformed_are_refused(
    client: httpx.AsyncClient, answers: dict[str, int]
) -> None:
    zhangsan = await bearer(client, "zhangsan")
    for params, words in [
        ({"org": "wuhou"}, "不在您的范围内"),
        ({"since": "2026-13-01"}, "YYYY-MM-DD"),
        ({"flow_id": "no-such-flow"}, "no such flow"),
        ({"campaign_id": "x1"}, "campaign_id must be a number"),
        ({"by": "tag"}, "a cross-tab needs both by and question"),
        ({"since": "2026-06-02", "until": "2026-06-01"}, "the start date is after the end date"),
    ]:
        for path in ("answers.csv", "figures.csv"):
            r = await client.get(f"/api/v1/reports/{path}", params=params, headers=auth(zhangsan))
            assert r.status_code == 422 and words in r.json()["detail"], (params, r.text)


async def test_figures_for_every_role_built_in_the_callers_scope(
    client: httpx.AsyncClient, answers: dict[str, int], builder: FakeBuilder
) -> None:
    lisi = await bearer(client, "lisi")  # a viewer reads figures
    r = await client.get(
        "/api/v1/reports/figures.csv", params={"by": "channel", "question": "overall"}, headers=auth(lisi)
    )
    assert r.status_code == 200, r.text
    rows = _csv(r)
    assert ["", "全部 all", "", "", "", "invited", "邀请 invited", "120", "", ""] in rows
    assert _filename(r).startswith("回访报表-")
    chunxi_path = builder.calls[-1]["scope"]
    assert chunxi_path.count("/") == 4  # 成都 / 锦江 / 春熙路: the viewer's own subtree
    assert (builder.calls[-1]["crosstab_by"], builder.calls[-1]["question"]) == ("channel", "overall")

    admin = await bearer(client, "admin")
    r = await client.get(
        "/api/v1/reports/figures.xlsx", params={"org": "jinjiang", "since": "2026-06-01"}, headers=auth(admin)
    )
    assert r.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).sheetnames[0] == "数据 figures"
    assert builder.calls[-1]["scope"].count("/") == 2  # 成都: the admin's whole tree
    assert builder.calls[-1]["org"] == "jinjiang" and str(builder.calls[-1]["since"]) == "2026-06-01"
