"""Rendering console pages: one Jinja2 environment (autoescaped, always), the static files
huifang serves itself, the navigation, times in Asia/Shanghai.

Templates: admin/templates/ holds base.html; a feature package's own templates/ folder is
reached by its name, e.g. "auth/login.html" is admin/auth/templates/login.html.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined

from bot.services.staff import StaffPrincipal

ADMIN = Path(__file__).resolve().parent
STATIC = ADMIN / "static"
# China keeps one offset all year, so a fixed zone needs no tz database on the server.
SHANGHAI = timezone(timedelta(hours=8), "CST")

ROLE_NAMES = {"admin": ("管理员", "Admin"), "staff": ("工作人员", "Staff"), "viewer": ("只读", "Viewer")}
KIND_NAMES = {
    "province": ("省级", "Province"),
    "city": ("市级", "City"),
    "district": ("区县", "District"),
    "grassroots": ("基层", "Grassroots"),
}


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    zh: str
    en: str


# The console's sections. A section is linked only once its page is mounted; until then it
# shows, greyed, what is coming.
NAV = (
    NavItem("/console", "首页", "Home"),
    NavItem("/console/tickets", "工单", "Tickets"),
    NavItem("/console/queues", "队列", "Queues"),
    NavItem("/console/flows", "流程", "Flows"),
    NavItem("/console/respondents", "受访者", "Respondents"),
    NavItem("/console/calls", "电话回访", "Phone calls"),
    NavItem("/console/campaigns", "活动", "Campaigns"),
    NavItem("/console/reports", "报表", "Reports"),
    NavItem("/console/users", "员工账号", "Staff"),
    NavItem("/console/audit", "审计日志", "Audit log"),
)


def _static_versions() -> dict[str, str]:
    # A content hash in each asset's URL: browsers may keep assets for long and still get
    # a changed one at once.
    return {name: hashlib.sha256(body).hexdigest()[:10] for name, body in static_files().items()}


def static_files() -> dict[str, bytes]:
    """Every file under admin/static by its path there ("console.css", "vendor/echarts.min.js")."""
    return {p.relative_to(STATIC).as_posix(): p.read_bytes() for p in sorted(STATIC.rglob("*")) if p.is_file()}


def _environment() -> Environment:
    features = {
        p.name: FileSystemLoader(p / "templates")
        for p in sorted(ADMIN.iterdir())
        if p.is_dir() and (p / "templates").is_dir() and p.name != "templates"
    }
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(ADMIN / "templates"), PrefixLoader(features)]),
        # Respondents' answers may hold <script>: every value is escaped, whatever the
        # template's file name; only |safe would print raw HTML, and nothing here uses it.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = _static_versions()

    def static(name: str) -> str:
        return f"/console/static/{name}?v={versions[name]}"

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(SHANGHAI).strftime(fmt) if value is not None else ""

    env.globals.update(static=static, ROLE_NAMES=ROLE_NAMES, KIND_NAMES=KIND_NAMES)
    env.filters["local"] = local
    return env


_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = _environment()
    return _env


def nav(request: Request) -> list[tuple[NavItem, bool]]:
    """Each section and whether its page exists in this app."""
    mounted: frozenset[str] = getattr(request.app.state, "console_paths", frozenset())
    return [(item, item.path in mounted) for item in NAV]


def render(
    request: Request,
    template: str,
    *,
    me: StaffPrincipal | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    page = environment().get_template(template)
    html = page.render(
        request=request,
        me=me,
        nav=nav(request) if me is not None else [],
        current=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
