"""Importing respondent lists: the file formats Excel writes, every per-row error, matching
people already known, opted-out people kept out, and all or nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.services.respondent_import import (
    ImportFileError,
    apply,
    normalise_phone,
    read_csv_bytes,
    read_table,
    read_table_bytes,
)
from storage.models import ChannelIdentity, Respondent
from storage.repositories.respondents import RespondentRepository
from tests.services.respondent_import.conftest import T0, World, write_csv

HEADER_ZH = "姓名,手机号,类别,机构代码,标签,微信openid\n"
ROWS_ZH = "张三,138 0013 8000,人道救助,jinjiang,低保;2025冬季,\n李四,+86-139-0013-9000,志愿者,chunxi,,oABC123\n"


async def _people(world: World) -> list[Respondent]:
    async with world.db.transaction() as s:
        return list(await s.scalars(select(Respondent).order_by(Respondent.id)))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
async def test_csv_in_the_encodings_excel_writes(world: World, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "list.csv", HEADER_ZH + ROWS_ZH, encoding)
    table = read_table(path)
    assert table.encoding == ("gb18030" if encoding == "gbk" else "utf-8")
    plan = await world.preview(table)
    assert plan.errors == []
    assert [(r.name, r.phone, r.category, r.tags, r.openid, r.account) for r in plan.new] == [
        ("张三", "13800138000", "humanitarian_aid", ["低保", "2025冬季"], None, None),
        ("李四", "13900139000", "volunteer", None, "oABC123", "jinjiang-wx"),  # 春熙路 uses 锦江's account
    ]
    assert await _people(world) == []  # a preview changes nothing


async def test_xlsx_with_english_headers_and_numeric_phones(world: World, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Phone", "Category", "Organisation", "Tags", "Remarks"])
    sheet.append(["Wang Wu", 13700137000, "Volunteering", "wuhou", "a, b", "ignored"])
    sheet.append(["赵六", "028-8765 4321", "humanitarian_aid", "锦江区红十字会", None, None])
    sheet.append([None, None, None, None, None, None])  # blank rows are skipped
    path = tmp_path / "list.xlsx"
    book.save(path)
    plan = await world.preview(read_table(path))
    assert plan.errors == []
    assert read_table(path).ignored == ("Remarks",)
    assert [(r.row, r.phone, r.category, r.organisation_id, r.tags) for r in plan.new] == [
        (2, "13700137000", "volunteer", world.orgs["wuhou"], ["a", "b"]),
        (3, "02887654321", "humanitarian_aid", world.orgs["jinjiang"], None),
    ]
    async with world.db.transaction() as s:
        result = await apply(s, plan, now=T0)
    assert result.created == 2
    people = await _people(world)
    assert [(p.name, p.phone, p.tags) for p in people] == [("Wang Wu", "13700137000", ["a", "b"]), ("赵六", "02887654321", None)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("008613800138000", "13800138000"),
     ("(028) 8765-4321", "02887654321"), ("12800138000", None), ("1380013800", None), ("abc", None),
     ("1.38001E+10", None)],
)  # fmt: skip
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


async def test_every_row_error_names_its_row_and_reason(world: World, tmp_path: Path) -> None:
    text = (
        "name,phone,category,organisation,openid\n"
        "好人,13800138000,volunteer,jinjiang,\n"        # row 2: fine
        "错号,12345,volunteer,jinjiang,\n"              # row 3: bad phone
        "错类,13800138001,厨师,jinjiang,\n"              # row 4: unknown category
        "错机构,13800138002,volunteer,nowhere,\n"        # row 5: unknown organisation
        "重复,138-0013-8000,volunteer,jinjiang,\n"       # row 6: same phone as row 2
        "公式,=1+1,volunteer,jinjiang,\n"                # row 7: formula
        "无号,,volunteer,jinjiang,\n"                    # row 8: nobody can reach them
        "无号2,13800138003,volunteer,wuhou,oXYZ\n"       # row 9: 武侯 has no WeChat account
    )
    plan = await world.preview(read_table(write_csv(tmp_path / "l.csv", text)))
    errors = dict(plan.errors)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert "invalid phone '12345'" in errors[3]
    assert "unknown category '厨师'" in errors[4] and "志愿服务 volunteer" in errors[4]  # lists the valid names
    assert "unknown organisation" in errors[5]
    assert "same phone as row 2" in errors[6]
    assert "formula in column B" in errors[7]
    assert "no phone and no openid" in errors[8]
    assert "has no WeChat account" in errors[9] and "--account" in errors[9]
    assert [r.row for r in plan.new] == [2]


async def test_an_organisation_outside_the_admins_scope_is_refused_as_unknown(world: World, tmp_path: Path) -> None:
    text = "phone,category,organisation\n13800138000,volunteer,wuhou\n13800138001,volunteer,chunxi\n"
    plan = await world.preview(read_table(write_csv(tmp_path / "l.csv", text)), scope="jinjiang")
    assert [row for row, _ in plan.errors] == [2]
    assert "unknown organisation, or outside your scope: wuhou" in plan.errors[0][1]
    assert [r.row for r in plan.new] == [3]


async def test_rows_without_an_organisation_take_the_admins(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", "phone,category\n13800138000,volunteer\n")
    plan = await world.preview(read_table(path), scope="jinjiang", org="jinjiang")
    assert [r.organisation_id for r in plan.new] == [world.orgs["jinjiang"]]
    plan = await world.preview(read_table(path))
    assert "no organisation" in plan.errors[0][1]


async def test_an_xlsx_formula_is_a_row_error(world: World, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "电话", "类别", "机构"])
    sheet.append(["甲", "13800138000", "volunteer", "jinjiang"])
    sheet.append(["乙", "=A1&B1", "volunteer", "jinjiang"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    plan = await world.preview(read_table(path))
    assert plan.errors == [(3, "含公式 formula in column B: 请粘贴为数值 paste values instead")]


async def test_too_many_rows_and_too_large_a_file(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", "phone,category,organisation\n" + "".join(
        f"1380013800{i},volunteer,jinjiang\n" for i in range(5)))  # fmt: skip
    plan = await world.preview(read_table(path, max_rows=3))
    assert [r.row for r in plan.new] == [2, 3, 4]
    assert plan.errors[0][0] == 5 and "more than 3 rows" in plan.errors[0][1]
    with pytest.raises(ImportFileError, match="file too large"):
        read_table(path, max_bytes=50)


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="phone or openid column"):
        read_csv_bytes("名字,类别\n张三,志愿\n".encode())
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GBK"):
        read_csv_bytes(b"phone\n\x81\x30\xff\xff\n")
    with pytest.raises(ImportFileError, match="cannot read the XLSX"):
        read_table(write_csv(tmp_path / "x.xlsx", "PK\x03\x04 not really a zip", "latin-1"))
    table = read_csv_bytes(b'phone,category\n"13800138000,volunteer\n')
    rows = list(table.rows)
    assert rows[0].problem is not None and "malformed CSV" in rows[0].problem


def _with_sheet(damage: Callable[[bytes], bytes]) -> bytes:
    """A workbook whose sheet's XML is damaged: a file cut off or tampered with."""
    book = openpyxl.Workbook()
    book.active.append(["手机", "类别"])
    for i in range(50):
        book.active.append([f"1380013{i:04d}", "volunteer"])
    whole = io.BytesIO()
    book.save(whole)
    out = io.BytesIO()
    with zipfile.ZipFile(whole) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, damage(data) if item.filename.startswith("xl/worksheets/") else data)
    return out.getvalue()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut off mid-row
        lambda data: data[: data.index(b"<sheetData") + 20],  # cut off before the header row
    ],
    ids=["cut-mid-row", "cut-before-header"],
)
def test_a_damaged_sheet_is_an_unreadable_file_not_a_crash(damage: Callable[[bytes], bytes]) -> None:
    data = _with_sheet(damage)
    with pytest.raises(ImportFileError, match="cannot read the XLSX"):
        list(read_table_bytes(data).rows)


def test_an_entity_from_outside_the_file_is_never_read() -> None:
    def entity(data: bytes) -> bytes:
        return b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + data[
            data.index(b"<worksheet") :
        ].replace(b"<t>1380013", b"<t>&e;1380013")

    try:
        rows = list(read_table_bytes(_with_sheet(entity)).rows)
    except ImportFileError as exc:
        assert "cannot read the XLSX" in str(exc)
    else:
        assert rows and not any("root:" in str(row) for row in rows)


async def test_existing_people_are_updated_opted_out_kept_out(world: World, tmp_path: Path) -> None:
    async with world.db.transaction() as s:
        repo = RespondentRepository(s)
        known = await repo.create(category="volunteer", name="旧名", phone="138-0013-8000",
                                  organisation_id=world.orgs["jinjiang"], at=T0)  # fmt: skip
        known.tags = ["老"]
        gone = await repo.create(category="volunteer", name="退订", phone="13900139000",
                                 organisation_id=world.orgs["jinjiang"], at=T0)  # fmt: skip
        await repo.opt_out(gone, at=T0)
        by_openid = await repo.create(category="donation", organisation_id=world.orgs["chunxi"], at=T0)
        await repo.add_identity(by_openid, channel="wechat", account="jinjiang-wx", external_id="oKNOWN", at=T0)
        same = await repo.create(category="volunteer", name="不变", phone="13600136000",
                                 organisation_id=world.orgs["jinjiang"], at=T0)  # fmt: skip
        ids = (known.id, gone.id, by_openid.id, same.id)
    text = (
        "姓名,手机,类别,机构,标签,openid\n"
        "新名,13800138000,人道救助,jinjiang,新,oNEW1\n"   # updated: name, category, tags added, openid linked
        "退订者,13900139000,人道救助,,,\n"        # kept out, unchanged
        "微信人,13500135000,donation,chunxi,,oKNOWN\n"    # matched by openid: phone added
        ",13600136000,volunteer,,,\n"             # nothing new
        "新人,13700137000,volunteer,,,\n"         # new
    )
    path = write_csv(tmp_path / "l.csv", text)
    plan = await world.preview(read_table(path), scope="jinjiang", org="jinjiang")
    assert plan.errors == []
    assert [r for r, _ in plan.kept_out] == [3] and "opted out" in plan.kept_out[0][1]
    assert plan.unchanged == [5]
    assert [r.row for r in plan.new] == [6]
    updates = {u.row: u for u in plan.updated}
    assert updates[2].changes == {"name": "新名", "phone": "13800138000", "category": "humanitarian_aid", "tags": ["老", "新"]}
    assert (updates[2].openid, updates[2].account) == ("oNEW1", "jinjiang-wx")
    assert updates[4].changes == {"name": "微信人", "phone": "13500135000"} and updates[4].openid is None
    async with world.db.transaction() as s:
        result = await apply(s, plan, now=T0)
    assert (result.created, result.updated, result.identities) == (1, 2, 1)
    async with world.db.transaction() as s:
        k, g, o, same_person = [await s.get(Respondent, i) for i in ids]
        assert k is not None and (k.name, k.category, k.tags) == ("新名", "humanitarian_aid", ["老", "新"])
        assert g is not None and (g.name, g.category, g.opted_out_at is not None) == ("退订", "volunteer", True)
        assert o is not None and o.phone == "13500135000"
        assert same_person is not None and same_person.name == "不变"
        # The names' pinyin follows them, for staff searching by letters.
        assert k.name_pinyin == "xinming xm" and o.name_pinyin == "weixinren wxr"
        newcomer = await s.scalar(select(Respondent).where(Respondent.name == "新人"))
        assert newcomer is not None and newcomer.name_pinyin == "xinren xr"
        linked = await s.scalar(select(ChannelIdentity.respondent_id).where(ChannelIdentity.external_id == "oNEW1"))
        assert linked == k.id
        assert await s.scalar(select(func.count()).select_from(Respondent)) == 5


async def test_people_outside_the_scope_are_not_touched(world: World, tmp_path: Path) -> None:
    async with world.db.transaction() as s:
        await RespondentRepository(s).create(category="volunteer", phone="13800138000",
                                             organisation_id=world.orgs["wuhou"], at=T0)  # fmt: skip
    path = write_csv(tmp_path / "l.csv", "phone,category\n13800138000,volunteer\n")
    plan = await world.preview(read_table(path), scope="jinjiang", org="jinjiang")
    assert plan.new == [] and plan.updated == []
    assert "registered outside your scope" in plan.errors[0][1]


async def test_apply_is_all_or_nothing(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", "phone,category,organisation,openid\n13800138000,volunteer,jinjiang,\n"
                                         "13800138001,volunteer,jinjiang,oTAKEN\n")  # fmt: skip
    plan = await world.preview(read_table(path))
    async with world.db.transaction() as s:
        # Someone takes the openid between preview and apply: the unique identity refuses it.
        other = await RespondentRepository(s).create(category="volunteer", organisation_id=world.orgs["jinjiang"], at=T0)
        await RespondentRepository(s).add_identity(other, channel="wechat", account="jinjiang-wx", external_id="oTAKEN")
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with world.db.transaction() as s:
            await apply(s, plan, now=T0)
    assert [p.phone for p in await _people(world)] == [None]  # only the one made above
