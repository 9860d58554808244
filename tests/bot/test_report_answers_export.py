"""The raw-answers export on a small fixed data set taken through the runtime (real
surveys on the wechat channel): one row per answer with labels, raw words and Shanghai
times; test respondents and other organisations left out; filters checked; read in
chunks that the writer consumes as they come (never the whole set in memory)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select, update

import storage.repositories.answer_export as answer_export
from bot.services.organisations import add_organisation
from bot.services.report_exports import (
    ANSWER_HEADER,
    ReportFilterError,
    answer_filter,
    answers_xlsx_chunks,
    stream_answers_csv,
    stream_answers_xlsx,
)
from bot.services.runtime import Runtime
from storage.models import Answer, Organisation, Respondent, SurveySession
from storage.repositories.organisations import Scope
from tests.bot.conftest import T0, Chat


async def _orgs(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.transaction() as s:
        await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        return {code: oid for oid, code in await s.execute(select(Organisation.id, Organisation.code))}


async def _survey(runtime: Runtime, who: str, org_id: int, answers: list[str], *, channel: str = "wechat") -> Chat:
    chat = Chat(runtime, who, channel=channel, account="gh_test")
    chat.organisation_id = org_id
    await chat.start("人道救助")
    await chat.say("好的")
    for text in answers:
        await chat.say(text)
    return chat


@pytest.fixture
async def world(runtime: Runtime) -> dict[str, Any]:
    orgs = await _orgs(runtime)
    # 陈: good → main problem → two services → an opinion (a complaint: a ticket opens).
    await _survey(runtime, "chen", orgs["jinjiang"], ["2", "等太久", "1、3", "救助款到现在还没收到"])
    # 刘 of 武侯: very good, no problem, skips the opinion.
    await _survey(runtime, "liu", orgs["wuhou"], ["非常好", "没问题", "暂时不需要", "跳过"])
    # A simulator visitor of 锦江: a test respondent, never exported.
    await _survey(runtime, "visitor", orgs["jinjiang"], ["1", "1", "1", "测试"], channel="simulator")
    async with runtime.db.transaction() as s:
        people = {r.id: r for r in await s.scalars(select(Respondent).order_by(Respondent.id))}
        ids = list(people)
        assert [people[i].is_test for i in ids] == [False, False, True]
        # Sessions remember their channel (0008) and the export shows it; one from before 0008
        # has none, and its cell stays empty.
        await s.execute(update(SurveySession).where(SurveySession.respondent_id == ids[1]).values(channel=None))
        chen_kind = await s.scalar(
            select(Answer.text_kind)
            .join(SurveySession, SurveySession.id == Answer.session_id)
            .where(SurveySession.respondent_id == ids[0], Answer.question_id == "opinion")
        )
    return {"orgs": orgs, "chen": ids[0], "liu": ids[1], "visitor": ids[2], "chen_kind": chen_kind}


def _expected(world: dict[str, Any]) -> list[list[Any]]:
    chen, liu = world["chen"], world["liu"]
    overall = "您对红十字会的救助项目，总体评价怎么样？"
    problem = "您觉得现在的救助项目，最主要的问题是什么？"
    services = "除了钱和物资，您还希望得到哪些帮助？"
    opinion = "最后，您对我们的工作还有什么意见或建议吗？欢迎直接告诉我们。"
    jj, wh = "锦江区红十字会", "武侯区红十字会"
    # Categories, flows, channels and statuses as staff know them, not as stored codes.
    head = "人道救助", "人道救助回访", 1
    wx, done = "微信 WeChat", "已回答 answered"
    return [
        [chen, jj, *head, wx, "overall", overall, "好", "2", done],
        [chen, jj, *head, wx, "main_problem", problem, "等待时间过长", "等太久", done],
        [chen, jj, *head, wx, "other_services", services, "心理疏导、关怀陪伴", "1、3", done],
        [chen, jj, *head, wx, "opinion", opinion, "救助款到现在还没收到", "救助款到现在还没收到", done],
        [liu, wh, *head, "", "overall", overall, "非常好", "非常好", done],
        [liu, wh, *head, "", "main_problem", problem, "没有明显问题", "没问题", done],
        [liu, wh, *head, "", "other_services", services, "暂时不需要", "暂时不需要", done],
        [liu, wh, *head, "", "opinion", opinion, "", "跳过", "跳过 skipped"],
    ]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_every_answer_of_real_respondents_with_labels_and_raw_words(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    async with runtime.db.transaction() as s:
        where = await answer_filter(s, scope=Scope.everything())
        out = io.BytesIO()
        written = await stream_answers_csv(s, where, out)
    rows = _csv_rows(out.getvalue())
    assert rows[0] == ANSWER_HEADER
    expected = _expected(world)
    assert written == len(expected) == len(rows) - 1
    as_text = [[str(c) for c in e] for e in expected]
    assert [r[:11] for r in rows[1:]] == as_text
    # T0 is 09:00 UTC: 17:00 in Shanghai, each message 30 s after the one before.
    assert all(r[12].startswith("2026-06-01 17:0") for r in rows[1:]), [r[12] for r in rows[1:]]
    # The text kind is what the service classified the opinion as (the visitor's is left out).
    assert world["chen_kind"] == "complaint"
    assert rows[4][6] == "opinion" and rows[4][11] == "投诉 complaint"


async def test_xlsx_holds_the_same_rows_with_real_dates(
    runtime: Runtime, world: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "答案.xlsx"
    async with runtime.db.transaction() as s:
        where = await answer_filter(s, scope=Scope.everything())
        assert await stream_answers_xlsx(s, where, path) == 8
    book = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert rows[0] == ANSWER_HEADER
    got = [[("" if c is None else c) for c in r[:11]] for r in rows[1:]]
    assert got == _expected(world)
    assert all(isinstance(r[12], datetime) and r[12].date() == date(2026, 6, 1) for r in rows[1:])


async def test_a_district_exports_only_its_own_people(runtime: Runtime, world: dict[str, Any]) -> None:
    async with runtime.db.transaction() as s:
        jinjiang = Scope((await s.get(Organisation, world["orgs"]["jinjiang"])).path)  # type: ignore[union-attr]
        out = io.BytesIO()
        await stream_answers_csv(s, await answer_filter(s, scope=jinjiang), out)
        rows = _csv_rows(out.getvalue())[1:]
        assert {r[0] for r in rows} == {str(world["chen"])}
        # Narrowing to an organisation outside the scope is refused, not silently empty.
        with pytest.raises(ReportFilterError, match="wuhou"):
            await answer_filter(s, scope=jinjiang, org="wuhou")
        everything = await answer_filter(s, scope=Scope.everything(), org="wuhou")
        out = io.BytesIO()
        await stream_answers_csv(s, everything, out)
        assert {r[0] for r in _csv_rows(out.getvalue())[1:]} == {str(world["liu"])}


async def test_days_are_shanghai_days_and_wrong_filters_are_refused(runtime: Runtime, world: dict[str, Any]) -> None:
    async with runtime.db.transaction() as s:

        async def count(**filters: Any) -> int:
            out = io.BytesIO()
            return await stream_answers_csv(s, await answer_filter(s, scope=Scope.everything(), **filters), out)

        assert await count(since=date(2026, 6, 1), until=date(2026, 6, 1)) == 8
        assert await count(since=date(2026, 6, 2)) == 0
        assert await count(until=date(2026, 5, 31)) == 0
        assert await count(category="volunteer") == 0
        # An answer typed the next day counts on the day its session started, as in the report.
        await s.execute(
            update(Answer)
            .where(Answer.question_id == "opinion")
            .values(answered_at=datetime(2026, 6, 2, 9, tzinfo=UTC))
        )
        assert await count(since=date(2026, 6, 1), until=date(2026, 6, 1)) == 8
        assert await count(since=date(2026, 6, 2)) == 0
        with pytest.raises(ReportFilterError, match="开始日期晚于结束日期"):
            await answer_filter(s, scope=Scope.everything(), since=date(2026, 6, 2), until=date(2026, 6, 1))
        with pytest.raises(ReportFilterError, match="no such flow"):
            await answer_filter(s, scope=Scope.everything(), flow_id=99999)
        with pytest.raises(ReportFilterError, match="no such campaign"):
            await answer_filter(s, scope=Scope.everything(), campaign_id=99999)


async def test_rows_are_written_chunk_by_chunk_as_the_cursor_reads_them(
    runtime: Runtime, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spy on the repository's iterator: when the writer gets a piece, the cursor has
    handed out at most one chunk more than was written. Loading everything first would
    show all 8 rows read before the first write."""
    monkeypatch.setattr(answer_export, "CHUNK", 3)
    real_chunks = answer_export.AnswerExportRepository.chunks
    read: list[int] = []

    async def spy(self: Any, where: Any, *, chunk: int | None = None) -> Any:
        async for rows in real_chunks(self, where, chunk=chunk):
            assert len(rows) <= 3
            read.append(len(rows))
            yield rows

    monkeypatch.setattr(answer_export.AnswerExportRepository, "chunks", spy)

    read_at_write: list[int] = []

    class Out(io.BytesIO):
        def write(self, data: Any) -> int:
            read_at_write.append(sum(read))
            return super().write(data)

    async with runtime.db.transaction() as s:
        assert await stream_answers_csv(s, await answer_filter(s, scope=Scope.everything()), Out()) == 8
    assert read == [3, 3, 2]
    # The header, then each chunk written right after it was read: 3, 6, 8 rows read so far.
    assert read_at_write == [0, 3, 6, 8]


async def test_the_workbook_goes_out_a_chunk_at_a_time(
    runtime: Runtime, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an HTTP download sends: a piece after each chunk the cursor read, the zip's
    index last; together they open as the workbook."""
    monkeypatch.setattr(answer_export, "CHUNK", 3)
    pieces: list[bytes] = []
    async with runtime.db.transaction() as s:
        async for piece in answers_xlsx_chunks(s, await answer_filter(s, scope=Scope.everything())):
            pieces.append(piece)
    assert len(pieces) == 4  # rows 1–3, 4–6, 7–8, then the workbook's index
    assert pieces[0].startswith(b"PK")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(pieces)), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 9 and rows[0] == ANSWER_HEADER


async def test_a_respondents_formula_is_not_run_by_excel(runtime: Runtime, world: dict[str, Any]) -> None:
    async with runtime.db.transaction() as s:
        await s.execute(
            update(Answer)
            .where(Answer.question_id == "opinion", Answer.skipped.is_(False))
            .values(raw_text="=1+1", value="=1+1")
        )
        out = io.BytesIO()
        await stream_answers_csv(s, await answer_filter(s, scope=Scope.everything()), out)
    opinion = next(r for r in _csv_rows(out.getvalue())[1:] if r[6] == "opinion" and r[10] == "已回答 answered")
    assert (opinion[8], opinion[9]) == ("'=1+1", "'=1+1")
