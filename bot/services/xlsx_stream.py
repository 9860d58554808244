"""An XLSX workbook of plain rows (text, numbers, times) written as a stream.

Why not xlsxwriter here (it writes the report figures): measured on bench/report.py, the
raw-answers export through its constant_memory mode took 166 s of CPU for a million
13-column answer rows (a Python call and an XML element per cell) against a goal of 60 s
wall time. A sheet of inline strings is a small, fixed piece of SpreadsheetML, so this
module writes each row's XML in one string, repeated texts from a cache, and zips it with
the standard library: the same export took 29–35 s of CPU, reading the rows included. It
also needs no seekable file: zipfile writes data descriptors to a stream that cannot seek,
so an HTTP response can send the workbook while it is being written.

Only what the exports need: one or more sheets of rows, a bold header row frozen at the
top, text as inline strings (never formulas: a respondent's "=1+1" stays text), numbers,
and datetimes (naive, already in local time) as Excel dates. Checked by opening the result
with openpyxl in the tests.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import IO, Any

MAX_ROWS = 1_048_576  # Excel's last row
_EPOCH = datetime(1899, 12, 30)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# XML 1.0 cannot carry most control characters at all: they are dropped (a respondent's
# stray \x07 is not worth a broken file). Tab, newline and carriage return are kept.
_ESCAPE = {i: None for i in range(32) if i not in (9, 10, 13)} | {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""
_DATE_STYLE, _BOLD_STYLE = 1, 2


# Most cells repeat (organisations, categories, question wordings, option labels, "1"):
# their XML is made once. Bounded, so memory stays flat whatever the export's size.
@lru_cache(maxsize=8192)
def _text(value: str) -> str:
    escaped = value.translate(_ESCAPE)
    space = ' xml:space="preserve"' if escaped[:1].isspace() or escaped[-1:].isspace() else ""
    return f'<c t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


def _cell(value: Any) -> str:
    # Exact types, most frequent first: this runs for every cell of a million rows.
    kind = type(value)
    if kind is str:
        return _text(value) if value else "<c/>"  # an empty cell still takes its column
    if kind is int or kind is float:
        return f"<c><v>{value!r}</v></c>"
    if value is None:
        return "<c/>"
    if kind is datetime:
        return f'<c s="{_DATE_STYLE}"><v>{(value - _EPOCH).total_seconds() / 86400!r}</v></c>'
    if kind is bool:
        return f'<c t="b"><v>{int(value)}</v></c>'
    return _text(str(value))


class XlsxStream:
    """`append(row)` rows to sheets named `title`, `title 2`, … (a new one past Excel's
    row limit), then `close()`. `out` is any binary file, seekable or not."""

    def __init__(self, out: IO[bytes], *, title: str, header: Sequence[str], compresslevel: int = 1) -> None:
        # Level 1: deflate's cheapest setting still packs this repetitive XML about tenfold.
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self.title, self.header = title, list(header)
        self.sheets: list[str] = []
        self.sheet: IO[bytes] | None = None
        self.rows = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._end_sheet()
        self.sheets.append(self.title if not self.sheets else f"{self.title} {len(self.sheets) + 1}")
        self.sheet = self.zip.open(f"xl/worksheets/sheet{len(self.sheets)}.xml", "w", force_zip64=True)
        head = "".join(_text(h).replace("<c ", f'<c s="{_BOLD_STYLE}" ', 1) for h in self.header)
        self.sheet.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            f'state="frozen"/></sheetView></sheetViews><sheetData><row>{head}</row>'.encode()
        )
        self.rows = 1

    def _end_sheet(self) -> None:
        if self.sheet is not None:
            self.sheet.write(b"</sheetData></worksheet>")
            self.sheet.close()
            self.sheet = None

    def append_many(self, rows: Sequence[Sequence[Any]]) -> None:
        parts: list[str] = []
        for row in rows:
            if self.rows >= MAX_ROWS:
                self._flush(parts)
                self._new_sheet()
            parts.append("<row>" + "".join(map(_cell, row)) + "</row>")
            self.rows += 1
        self._flush(parts)

    def _flush(self, parts: list[str]) -> None:
        if parts and self.sheet is not None:
            self.sheet.write("".join(parts).encode())
            parts.clear()

    def abandon(self) -> None:
        """Stop without finishing the file (its reader went away): nothing more is written,
        and the zip's own close at garbage collection has nothing left to do."""
        self.sheet = None
        self.zip.fp = None

    def close(self) -> None:
        self._end_sheet()
        n = len(self.sheets)
        sheets = "".join(
            f'<sheet name="{name.translate(_ESCAPE)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(self.sheets, 1)
        )
        self.zip.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
        )
        links = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">{links}'
            f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.zip.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        self.zip.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>{overrides}</Types>',
        )
        self.zip.close()
