"""Chinese numerals as respondents type them: "三十五", "一百二", "两万", "二零二四"."""

from __future__ import annotations

CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
CN_CHARS = "".join(CN_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)


def cn_integer(text: str) -> int | None:
    """"三十五" -> 35, "一百二" -> 120 (spoken shorthand), "两万" -> 20000, "二零二四" -> 2024.

    Two bare digits ("五六") are a range in speech ("five or six"), not 56: None.
    """
    if not text:
        return None
    if not any(ch in _SMALL_UNITS or ch in _BIG_UNITS for ch in text):
        if len(text) == 1:
            return CN_DIGITS[text]
        if len(text) == 2 and "零" not in text and "〇" not in text:
            return None
        return int("".join(str(CN_DIGITS[ch]) for ch in text))
    total = section = 0
    digit: int | None = None
    last_unit = 0  # the unit just applied, for "一百二" = 120
    section_unit = 100_000  # small units fall within a section: "十一十" is no number
    after_zero = False
    for ch in text:
        if ch in CN_DIGITS:
            value = CN_DIGITS[ch]
            if digit is not None and value != 0:
                return None  # "三四十": a range, not a number
            if value == 0:
                after_zero = True
                digit = None
                continue
            digit = value
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= section_unit:
                return None
            if digit is None:
                if unit != 10 or section % 100 or after_zero:  # only a bare "十" may stand alone
                    return None
                digit = 1
            section += digit * unit
            digit, last_unit, section_unit, after_zero = None, unit, unit, False
        else:
            unit = _BIG_UNITS[ch]
            if digit is not None:
                section += digit
            if section == 0:
                return None
            total = (total + section) * unit
            section, digit, last_unit, section_unit, after_zero = 0, None, unit, 100_000, False
    if after_zero and digit is None:
        return None  # "十零": a zero holds a place only before a digit
    if digit is not None:
        # Spoken shorthand: the digit after the last unit is one place lower.
        section += digit * (last_unit // 10) if last_unit >= 100 and not after_zero else digit
    return total + section
