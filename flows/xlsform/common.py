"""What reading and writing an XLSForm share: cells, column names, limits, errors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Cell = str | int | float | bool | None
Rows = Sequence[Sequence[Cell]]  # a sheet: the header row first, as in the workbook (row 1)

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"

# Stated in README ("XLSForm"); a real survey is a few dozen rows.
MAX_ROWS = 2000  # per sheet, the header included
MAX_CELL_CHARS = 4000

LANGS = ("zh", "en")
LANG_SUFFIX = {"zh": "中文 (zh)", "en": "English (en)"}
LANG_NAME = {"zh": "中文 Chinese", "en": "英文 English"}


@dataclass(frozen=True, slots=True)
class XlsError:
    sheet: str
    row: int | None  # the workbook's row number (1: the header); None: the sheet as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}:{self.row}: {self.message}" if self.row else f"{self.sheet}: {self.message}"


def column(base: str, lang: str) -> str:
    return f"{base}::{LANG_SUFFIX[lang]}"


_LANG_CODE = re.compile(r"\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\s*\)\s*$")
_LANG_WORDS = {"中文": "zh", "汉语": "zh", "chinese": "zh", "english": "en", "英文": "en", "英语": "en"}


def split_column(header: str) -> tuple[str, str | None, str | None]:
    """`label::中文 (zh)` → ("label", "zh", None); an unknown language → its text as the third."""
    base, sep, rest = header.partition("::")
    base = base.strip().lower()
    if not sep:
        return base, None, None
    rest = rest.strip()
    m = _LANG_CODE.search(rest)
    code = (m.group(1) if m else _LANG_WORDS.get(rest.lower(), rest)).lower()
    if code == "zh" or code.startswith(("zh-", "zh_")):
        return base, "zh", None
    if code == "en" or code.startswith(("en-", "en_")):
        return base, "en", None
    return base, None, rest or "?"
