"""What the Telegram channel itself says (button labels, short notices), Chinese first."""

from __future__ import annotations

_TEXTS: dict[str, tuple[str, str]] = {
    "done_button": ("✔ 选好了，提交", "✔ Done"),
    "chosen": ("已选择：{label}", "Selected: {label}"),
    "submitted": ("已提交：{numbers}", "Submitted: {numbers}"),
    "tick_first": ("请先点选至少一项，再点“选好了”。", "Please tick at least one option first, then tap “Done”."),
    "too_old": ("这条消息太久了，请直接回复数字，例如：1", "This message is too old; please type the number, e.g. 1"),
    "stale": ("这道题已经过去了，请回答最新的问题。", "That question has passed; please answer the latest one."),
}


def say(key: str, lang: str, **values: object) -> str:
    zh, en = _TEXTS[key]
    return (en if lang == "en" else zh).format(**values)


def lang_hint(language_code: str | None) -> str:
    """Telegram's IETF code of the user's app language → "en" for English, else Chinese."""
    return "en" if (language_code or "").lower().startswith("en") else "zh"
