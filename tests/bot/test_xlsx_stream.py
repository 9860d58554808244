"""The streamed XLSX writer of the raw-answers export, read back with openpyxl: text stays
text (a respondent's formula too), numbers and dates keep their types, empty cells keep
the columns in place, control characters cannot break the file, a new sheet starts past
the row limit, and a stream that cannot seek is enough."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import openpyxl
import pytest

import bot.services.xlsx_stream as xlsx_stream
from bot.services.xlsx_stream import XlsxStream


class Unseekable(io.RawIOBase):
    """Like an HTTP response body: bytes only go forward."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


def _read(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_cells_keep_their_type_and_place() -> None:
    out = Unseekable()
    book = XlsxStream(out, title="答案 answers", header=["编号 id", "内容 text", "时间 at", "空 empty", "末 last"])  # type: ignore[arg-type]
    when = datetime(2026, 6, 1, 17, 0, 30)
    book.append_many([
        [1, "=1+1", when, "", "在后面"],
        [2.5, " 前后空格 ", when, None, "<b>&amp;</b>"],
        [3, "响铃\x07和\x00空字符\n换行", when, True, "末"],
    ])  # fmt: skip
    book.close()

    sheet = _read(bytes(out.data))["答案 answers"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["编号 id", "内容 text", "时间 at", "空 empty", "末 last"]
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert rows[1] == [1, "=1+1", when, None, "在后面"]
    assert sheet["B2"].data_type == "s"  # text, not a formula
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert rows[2] == [2.5, " 前后空格 ", when, None, "<b>&amp;</b>"]
    assert rows[3] == [3, "响铃和空字符\n换行", when, True, "末"]


def test_a_new_sheet_past_the_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 3)  # header + 2 rows a sheet
    out = io.BytesIO()
    book = XlsxStream(out, title="答案 answers", header=["n"])
    book.append_many([[i] for i in range(5)])
    book.close()
    workbook = _read(out.getvalue())
    assert workbook.sheetnames == ["答案 answers", "答案 answers 2", "答案 answers 3"]
    values = [[r[0] for r in ws.iter_rows(values_only=True)] for ws in workbook.worksheets]
    assert values == [["n", 0, 1], ["n", 2, 3], ["n", 4]]
