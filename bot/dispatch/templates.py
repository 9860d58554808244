"""What a template message says when the 48 h window is closed.

A template's fields are fixed when the account chooses it in the WeChat console. The
default mapping fits the common "service follow-up" layout (first / keyword1 / keyword2 /
remark):

    first     the heading for the row's kind (邀请 / 提醒 / 跟进 / 新消息)
    keyword1  the message text itself
    keyword2  when it was written, Asia/Shanghai time (YYYY-MM-DD HH:MM)
    remark    how to carry on: reply to the account (which reopens the 48 h window)

An account whose template uses other keys gets its own by writing `template_data` on the
outbox row (key → value, or key → {"value": …, "color": …}); that wins over the default.
Long texts are passed as they are: classic templates show them, newer "thing" keywords are
capped by WeChat (20 characters), so such templates should use `template_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

HEADINGS = {
    "invitation": {"zh": "回访邀请", "en": "Follow-up invitation"},
    "reminder": {"zh": "回访提醒", "en": "Follow-up reminder"},
    "follow_up": {"zh": "回访跟进", "en": "Following up"},
    "reply": {"zh": "您有一条新消息", "en": "You have a new message"},
}
REMARK = {
    "zh": "请直接回复本公众号继续，谢谢！",
    "en": "Please reply to this account to continue. Thank you!",
}


def template_data(
    *,
    kind: str,
    text: str,
    created_at: datetime,
    lang: str | None,
    override: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if override:
        return dict(override)
    lang = lang if lang in REMARK else "zh"
    heading = HEADINGS.get(kind, HEADINGS["reply"])
    return {
        "first": heading[lang],
        "keyword1": text,
        "keyword2": created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
        "remark": REMARK[lang],
    }
