"""What the pages call statuses, kinds, priorities and history entries (Chinese, English)."""

from __future__ import annotations

from datetime import datetime

STATUS = {
    "new": ("新建", "New"),
    "assigned": ("已指派", "Assigned"),
    "in_progress": ("处理中", "In progress"),
    "resolved": ("已解决", "Resolved"),
    "confirmed": ("已确认", "Confirmed"),
    "unconfirmed": ("未确认", "Unconfirmed"),
    "reopened": ("重新打开", "Reopened"),
    "escalated": ("已升级", "Escalated"),
}
KIND = {
    "complaint": ("投诉", "Complaint"),
    "help": ("求助", "Help"),
    "human": ("转人工", "Asked for a person"),
    "flagged": ("需关注", "Flagged"),
}
PRIORITY = {1: ("紧急", "Urgent"), 2: ("高", "High"), 3: ("普通", "Normal"), 4: ("低", "Low")}
EVENT = {
    "opened": ("新建工单", "Opened"),
    "moved": ("状态变更", "Status"),
    "note": ("内部备注", "Note"),
    "message": ("发给受访者", "Message to the respondent"),
    "reply": ("受访者回复", "Reply"),
    "sla_breached": ("超时升级", "SLA breached"),
    "notified": ("已通知工作人员", "Staff notified"),
}
OVERDUE = {
    "first_response": ("首次响应超时", "First response overdue"),
    "resolution": ("解决超时", "Resolution overdue"),
}
# The list's age filter: hours.
AGES = ((24, ("超过1天", "over 1 day")), (72, ("超过3天", "over 3 days")), (168, ("超过7天", "over 7 days")))
# After a form, the redirect says what was done (by a fixed code, never text from the request).
DONE = {
    "assign": "已指派 Assigned",
    "note": "备注已保存 Note saved",
    "message": "消息已排队发送 Message queued for sending",
    "start": "已开始处理 Started",
    "resolve": "已标记为解决 Marked resolved",
    "reopen": "已重新打开 Reopened",
}
UNREACHABLE = "消息未能发出：受访者无法联系 The message was not sent: the respondent cannot be reached"


def age(since: datetime, now: datetime) -> str:
    """How long ago, short: 3天 / 5小时 / 12分钟."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)}天"
    if minutes >= 60:
        return f"{minutes // 60}小时"
    return f"{minutes}分钟"


def duration(value: object) -> str:
    """A median timedelta for the figures: 1天3小时 / 2小时5分 / 7分钟; "—" for none."""
    seconds = getattr(value, "total_seconds", None)
    if seconds is None:
        return "—"
    minutes = int(seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分钟"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
